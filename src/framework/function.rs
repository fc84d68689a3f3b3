//! Provider-defined functions (Terraform 1.8+, OpenTofu 1.7+), called in
//! HCL as `provider::genesis::NAME(...)`: pure, with typed parameters and
//! a typed result, and an error that names the argument at fault.

use std::collections::BTreeMap;

use super::types::Type;
use super::value::Value;

/// One parameter, in the order the function takes them.
pub struct Parameter {
    pub name: &'static str,
    pub ty: Type,
    pub description: &'static str,
}

/// Why a call failed: `argument` is the index of the argument at fault.
#[derive(Debug, PartialEq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    pub fn at(argument: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(argument),
        }
    }
}

pub trait Function: Send + Sync {
    fn name(&self) -> &'static str;
    /// One line, for listings.
    fn summary(&self) -> &'static str;
    /// Markdown, for the documentation.
    fn description(&self) -> &'static str;
    fn parameters(&self) -> Vec<Parameter>;
    fn returns(&self) -> Type;
    /// The result for `arguments` (as many as `parameters`, none null).
    fn call(&self, arguments: &[Value]) -> Result<Value, FunctionError>;
}

/// The functions, by name.
#[derive(Default)]
pub struct Functions(BTreeMap<&'static str, Box<dyn Function>>);

impl Functions {
    pub fn new(functions: Vec<Box<dyn Function>>) -> Self {
        Functions(functions.into_iter().map(|f| (f.name(), f)).collect())
    }

    pub fn all(&self) -> impl Iterator<Item = &dyn Function> {
        self.0.values().map(|f| f.as_ref())
    }

    pub fn get(&self, name: &str) -> Option<&dyn Function> {
        self.0.get(name).map(|f| f.as_ref())
    }

    /// Calls `name`, checking the arguments against its parameters first.
    pub fn call(&self, name: &str, arguments: &[Value]) -> Result<Value, FunctionError> {
        let function = self.get(name).ok_or_else(|| FunctionError {
            text: format!("this provider has no function named {name:?}"),
            argument: None,
        })?;
        let parameters = function.parameters();
        if arguments.len() != parameters.len() {
            return Err(FunctionError {
                text: format!(
                    "{name} takes {} arguments, got {}",
                    parameters.len(),
                    arguments.len()
                ),
                argument: None,
            });
        }
        if let Some((i, p)) = arguments
            .iter()
            .zip(&parameters)
            .enumerate()
            .find_map(|(i, (a, p))| a.is_null().then_some((i, p)))
        {
            return Err(FunctionError::at(i, format!("{} must not be null", p.name)));
        }
        function.call(arguments)
    }
}
