//! The stack definition: `devenv.toml` read, merged with the catalog, and validated.

mod apps;
pub mod interpolate;
mod load;
mod merge;
mod model;
pub mod parse;
mod policy;
pub mod raw;
mod spans;
mod validate;

pub use apps::{program_found, program_of};
pub use load::{load, load_source};
pub use model::*;
pub use parse::{format_duration, is_project_name, parse_duration};

use indexmap::IndexMap;

impl Stack {
    /// Services in an order where every service comes after its dependencies.
    pub fn start_order(&self) -> Vec<&Service> {
        let mut ordered: Vec<&Service> = Vec::new();
        fn visit<'a>(stack: &'a Stack, name: &str, ordered: &mut Vec<&'a Service>) {
            if ordered.iter().any(|s| s.name == name) {
                return;
            }
            if let Some(service) = stack.services.get(name) {
                for dep in &service.depends_on {
                    visit(stack, dep, ordered);
                }
                ordered.push(service);
            }
        }
        for name in self.services.keys() {
            visit(self, name, &mut ordered);
        }
        ordered
    }

    /// Default values of every non-secret variable, with references expanded; what the stack
    /// means when no `.env` overrides anything.
    pub fn default_values(&self) -> IndexMap<String, String> {
        self.variables
            .values()
            .filter(|v| !v.secret)
            .filter_map(|v| {
                v.value
                    .as_ref()
                    .map(|value| (v.name.clone(), value.clone()))
            })
            .collect()
    }
}

/// The integration tests' copy of the example's stack, shared rather than repeated.
#[cfg(test)]
#[path = "../../tests/integration/support/shop.rs"]
mod shop_example;

#[cfg(test)]
pub(crate) mod tests_support {
    /// The bundled example's services, variables and database (its devenv.toml above the apps
    /// heading): its apps need the example's own directories.
    pub use super::shop_example::SHOP;

    /// The shop example loaded as if its devenv.toml were in `root`.
    pub fn shop_at(root: &std::path::Path) -> super::Stack {
        let source = crate::diagnostic::SourceFile::new("devenv.toml", SHOP);
        super::load_source(&source, root, &root.join("devenv.toml"))
            .expect("the shop example is valid")
    }
}

#[cfg(test)]
mod tests;
