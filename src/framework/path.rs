//! Attribute paths: where in a configuration a diagnostic points.

use std::fmt;

/// One step of a path into a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Attribute(String),
    /// A map key.
    Key(String),
    /// A list (or, for diagnostics, set) position.
    Index(i64),
}

/// A path such as `node_config.taints[0].effect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(Vec<Step>);

impl AttributePath {
    pub fn root() -> Self {
        AttributePath(Vec::new())
    }

    pub fn attr(name: &str) -> Self {
        AttributePath(vec![Step::Attribute(name.to_string())])
    }

    #[must_use]
    pub fn join(&self, name: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Attribute(name.to_string()));
        AttributePath(steps)
    }

    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(i as i64));
        AttributePath(steps)
    }

    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        AttributePath(steps)
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    pub fn from_steps(steps: Vec<Step>) -> Self {
        AttributePath(steps)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Attribute(name) if i == 0 => write!(f, "{name}")?,
                Step::Attribute(name) => write!(f, ".{name}")?,
                Step::Key(key) => write!(f, "[{key:?}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_in_hcl() {
        let p = AttributePath::attr("taints").index(0).join("effect");
        assert_eq!(p.to_string(), "taints[0].effect");
        assert_eq!(
            AttributePath::attr("labels").key("team").to_string(),
            "labels[\"team\"]"
        );
    }
}
