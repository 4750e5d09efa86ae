//! devenv: one stack definition in a repository, a working local development environment out.

pub mod catalog;
pub mod source;
pub mod stack;
