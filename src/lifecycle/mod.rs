//! Bringing a stack up and down through the engine, and reporting on it: the operations behind
//! `up`, `down`, `status`, `logs` and `restart`.

mod converge;
mod database_steps;
pub mod down;
pub mod lock;
pub mod logs;
pub mod ownership;
pub mod preflight;
pub mod report;
pub mod status;
pub mod up;
