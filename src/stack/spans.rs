//! Where things were written: the side tables the loader fills while it converts the raw
//! file, so that the cross-checks run on the validated model can still point at a line.

use std::collections::HashMap;
use std::ops::Range;

/// A string to check for variable references, with where it was written.
pub(super) struct Interpolated {
    /// The value.
    pub text: String,
    /// Its span in the stack file (the quoted string).
    pub span: Range<usize>,
}

/// The spans the cross-checks need, keyed by what they are about.
#[derive(Default)]
pub(super) struct Spans {
    /// Every value that may reference variables, in file order.
    pub interpolated: Vec<Interpolated>,
    /// `depends_on` entries: (service, dependency).
    depends_on: HashMap<(String, String), Range<usize>>,
    /// Published ports: (service, index among its ports).
    ports: HashMap<(String, usize), Range<usize>>,
}

impl Spans {
    /// Records a value to check for variable references.
    pub fn interpolated(&mut self, text: &str, span: Range<usize>) {
        self.interpolated.push(Interpolated {
            text: text.to_string(),
            span,
        });
    }

    /// Records where `service` names `dependency`.
    pub fn add_depends_on(&mut self, service: &str, dependency: &str, span: Range<usize>) {
        self.depends_on
            .insert((service.to_string(), dependency.to_string()), span);
    }

    /// Where `service` names `dependency` (the file start when unknown).
    pub fn depends_on(&self, service: &str, dependency: &str) -> Range<usize> {
        self.depends_on
            .get(&(service.to_string(), dependency.to_string()))
            .cloned()
            .unwrap_or(0..0)
    }

    /// Records where the `index`th port of `service` was written.
    pub fn add_port(&mut self, service: &str, index: usize, span: Range<usize>) {
        self.ports.insert((service.to_string(), index), span);
    }

    /// Where the `index`th port of `service` was written (the file start when unknown).
    pub fn port(&self, service: &str, index: usize) -> Range<usize> {
        self.ports
            .get(&(service.to_string(), index))
            .cloned()
            .unwrap_or(0..0)
    }
}
