//! The tfplugin6 `Provider` service: one function per RPC that decodes the
//! request, calls the framework server, and encodes the answer. Every
//! failure a user should see travels as a diagnostic, never as a gRPC error.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{self, decode, encode};
use super::generated::tfplugin6 as pb;
use super::generated::tfplugin6::provider_server::Provider;
use super::streams;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::function::FunctionError;
use crate::framework::server::ProviderServer;
use crate::framework::types::Type;
use crate::framework::value::Value;

pub struct ProviderService {
    server: Arc<ProviderServer>,
}

impl ProviderService {
    pub fn new(server: Arc<ProviderServer>) -> Self {
        ProviderService { server }
    }

    fn resource_type(&self, type_name: &str) -> Result<Type, Diagnostics> {
        self.server
            .resource_schema(type_name)
            .map(|s| s.value_type())
            .ok_or_else(|| unsupported("resource type", type_name))
    }

    fn data_source_type(&self, type_name: &str) -> Result<Type, Diagnostics> {
        self.server
            .data_source_schema(type_name)
            .map(|s| s.value_type())
            .ok_or_else(|| unsupported("data source", type_name))
    }

    /// An action's configuration, decoded with its schema.
    fn action_config(
        &self,
        type_name: &str,
        config: Option<&pb::DynamicValue>,
    ) -> Result<Value, Diagnostics> {
        let ty = self
            .server
            .action_schema(type_name)
            .map(|s| s.value_type())
            .ok_or_else(|| unsupported("action", type_name))?;
        decode(config, &ty)
    }

    fn ephemeral_type(&self, type_name: &str) -> Result<Type, Diagnostics> {
        self.server
            .ephemeral_schema(type_name)
            .map(|s| s.value_type())
            .ok_or_else(|| unsupported("ephemeral resource", type_name))
    }
}

impl ProviderService {
    /// The identity of the object `state` describes, for a response.
    fn identity(&self, type_name: &str, state: &Value) -> Option<pb::ResourceIdentityData> {
        let (identity, ty) = self.server.identity(type_name, state)?;
        Some(pb::ResourceIdentityData {
            identity_data: Some(encode(&identity, &ty)),
        })
    }
}

pub(super) fn unsupported(what: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unsupported {what}"),
        format!("This provider has no {what} named {name:?}. Check the spelling and the provider's version."),
    )
    .into()
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: true,
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Reply<pb::get_metadata::Response> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .server
                .resource_schemas()
                .map(|(name, _)| pb::get_metadata::ResourceMetadata {
                    type_name: name.to_string(),
                })
                .collect(),
            data_sources: self
                .server
                .data_source_schemas()
                .map(|(name, _)| pb::get_metadata::DataSourceMetadata {
                    type_name: name.to_string(),
                })
                .collect(),
            list_resources: self
                .server
                .list_resource_schemas()
                .map(|(name, _)| pb::get_metadata::ListResourceMetadata {
                    type_name: name.to_string(),
                })
                .collect(),
            actions: self
                .server
                .action_schemas()
                .map(|(name, _)| pb::get_metadata::ActionMetadata {
                    type_name: name.to_string(),
                })
                .collect(),
            functions: self
                .server
                .functions
                .all()
                .map(|f| pb::get_metadata::FunctionMetadata {
                    name: f.name().to_string(),
                })
                .collect(),
            ephemeral_resources: self
                .server
                .ephemeral_schemas()
                .map(|(name, _)| pb::get_metadata::EphemeralMetadata {
                    type_name: name.to_string(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Reply<pb::get_provider_schema::Response> {
        tracing::debug!("serving provider schema");
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(convert::schema(self.server.provider_schema())),
            resource_schemas: self
                .server
                .resource_schemas()
                .map(|(name, schema)| (name.to_string(), convert::schema(schema)))
                .collect(),
            data_source_schemas: self
                .server
                .data_source_schemas()
                .map(|(name, schema)| (name.to_string(), convert::schema(schema)))
                .collect(),
            functions: convert::functions(&self.server.functions),
            list_resource_schemas: self
                .server
                .list_resource_schemas()
                .map(|(name, schema)| (name.to_string(), convert::schema(schema)))
                .collect(),
            action_schemas: self
                .server
                .action_schemas()
                .map(|(name, schema)| {
                    let schema = Some(convert::schema(schema));
                    (name.to_string(), pb::ActionSchema { schema })
                })
                .collect(),
            ephemeral_resource_schemas: self
                .server
                .ephemeral_schemas()
                .map(|(name, schema)| (name.to_string(), convert::schema(schema)))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Reply<pb::validate_provider_config::Response> {
        let req = request.into_inner();
        let ty = self.server.provider_schema().value_type();
        let diags = match decode(req.config.as_ref(), &ty) {
            Ok(config) => self.server.validate_provider(&config),
            Err(d) => d,
        };
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Reply<pb::validate_resource_config::Response> {
        let req = request.into_inner();
        let diags = self
            .resource_type(&req.type_name)
            .and_then(|ty| decode(req.config.as_ref(), &ty))
            .map(|config| self.server.validate_resource(&req.type_name, &config))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Reply<pb::validate_data_resource_config::Response> {
        let req = request.into_inner();
        let diags = self
            .data_source_type(&req.type_name)
            .and_then(|ty| decode(req.config.as_ref(), &ty))
            .map(|config| self.server.validate_data_source(&req.type_name, &config))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Reply<pb::upgrade_resource_state::Response> {
        let req = request.into_inner();
        let result = self.resource_type(&req.type_name).and_then(|ty| {
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported legacy state",
                    "This resource's state is in Terraform 0.11's flatmap format, which this provider never wrote. Remove the resource from state and import it again.",
                )
                .into());
            }
            let state = if raw.json.is_empty() {
                Value::Null
            } else {
                super::codec::decode_json(&raw.json, &ty).map_err(convert::invalid_value)?
            };
            let upgraded = self.server.upgrade(&req.type_name, req.version, state)?;
            Ok(encode(&upgraded, &ty))
        });
        Ok(Response::new(match result {
            Ok(state) => pb::upgrade_resource_state::Response {
                upgraded_state: Some(state),
                diagnostics: Vec::new(),
            },
            Err(d) => pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: convert::diagnostics(d),
            },
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Reply<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .server
                .identity_schemas()
                .map(|(name, schema)| (name.to_string(), convert::identity_schema(&schema)))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Reply<pb::upgrade_resource_identity::Response> {
        // Every identity is at its first version: stored identities are
        // read as they are.
        let req = request.into_inner();
        let schema = self
            .server
            .identity_schemas()
            .find(|(name, _)| *name == req.type_name)
            .map(|(_, schema)| schema);
        let upgraded = match schema {
            Some(schema) if req.version == schema.version => {
                crate::protocol::codec::decode_json(&req.raw_identity, &schema.value_type())
                    .map(|v| encode(&v, &schema.value_type()))
                    .map_err(convert::invalid_value)
            }
            _ => Err(unsupported("resource identity for", &req.type_name)),
        };
        Ok(Response::new(match upgraded {
            Ok(identity) => pb::upgrade_resource_identity::Response {
                upgraded_identity: Some(pb::ResourceIdentityData {
                    identity_data: Some(identity),
                }),
                diagnostics: Vec::new(),
            },
            Err(d) => pb::upgrade_resource_identity::Response {
                upgraded_identity: None,
                diagnostics: convert::diagnostics(d),
            },
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Reply<pb::configure_provider::Response> {
        let req = request.into_inner();
        tracing::info!(terraform_version = %req.terraform_version, "configuring provider");
        let ty = self.server.provider_schema().value_type();
        let diags = match decode(req.config.as_ref(), &ty) {
            Ok(config) => self.server.configure(&config, &req.terraform_version),
            Err(d) => d,
        };
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Reply<pb::read_resource::Response> {
        let req = request.into_inner();
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => {
                return Ok(Response::new(read_failed(
                    req.current_state,
                    req.private,
                    d,
                )));
            }
        };
        let state = match decode(req.current_state.as_ref(), &ty) {
            Ok(v) => v,
            Err(d) => {
                return Ok(Response::new(read_failed(
                    req.current_state,
                    req.private,
                    d,
                )));
            }
        };
        let fresh = self.server.read(&req.type_name, &state, &req.private).await;
        Ok(Response::new(pb::read_resource::Response {
            new_identity: self.identity(&req.type_name, &fresh.state),
            new_state: Some(encode(&fresh.state, &ty)),
            diagnostics: convert::diagnostics(fresh.diagnostics),
            private: fresh.private,
            deferred: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Reply<pb::plan_resource_change::Response> {
        let req = request.into_inner();
        let decoded = self.resource_type(&req.type_name).and_then(|ty| {
            let prior = decode(req.prior_state.as_ref(), &ty)?;
            let proposed = decode(req.proposed_new_state.as_ref(), &ty)?;
            let config = decode(req.config.as_ref(), &ty)?;
            Ok((ty, prior, proposed, config))
        });
        let (ty, prior, proposed, config) = match decoded {
            Ok(v) => v,
            Err(d) => {
                return Ok(Response::new(pb::plan_resource_change::Response {
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                }));
            }
        };
        let planned = self
            .server
            .plan(
                &req.type_name,
                &prior,
                &proposed,
                &config,
                &req.prior_private,
                req.client_capabilities
                    .as_ref()
                    .is_some_and(|c| c.write_only_attributes_allowed),
            )
            .await;
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: Some(encode(&planned.state, &ty)),
            requires_replace: planned
                .requires_replace
                .iter()
                .map(convert::attribute_path)
                .collect(),
            // Known only once the object's name is (a create may not know
            // it until apply); an update keeps it.
            planned_identity: self.identity(&req.type_name, &planned.state),
            planned_private: planned.private,
            diagnostics: convert::diagnostics(planned.diagnostics),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Reply<pb::apply_resource_change::Response> {
        let req = request.into_inner();
        let decoded = self.resource_type(&req.type_name).and_then(|ty| {
            let prior = decode(req.prior_state.as_ref(), &ty)?;
            let planned = decode(req.planned_state.as_ref(), &ty)?;
            let config = decode(req.config.as_ref(), &ty)?;
            Ok((ty, prior, planned, config))
        });
        let (ty, prior, planned, config) = match decoded {
            Ok(v) => v,
            Err(d) => {
                // Echo the prior state so Terraform forgets nothing.
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                }));
            }
        };
        tracing::info!(resource = %req.type_name, "applying change");
        let applied = self
            .server
            .apply(
                &req.type_name,
                &prior,
                &planned,
                &config,
                &req.planned_private,
            )
            .await;
        Ok(Response::new(pb::apply_resource_change::Response {
            new_identity: self.identity(&req.type_name, &applied.state),
            new_state: Some(encode(&applied.state, &ty)),
            private: applied.private,
            diagnostics: convert::diagnostics(applied.diagnostics),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Reply<pb::import_resource_state::Response> {
        let req = request.into_inner();
        let identity = req.identity.as_ref().and_then(|i| i.identity_data.as_ref());
        let result = self.resource_type(&req.type_name).and_then(|ty| {
            let state = match identity {
                // `import { identity = { ... } }`, Terraform 1.12 and later.
                Some(identity) if req.id.is_empty() => {
                    let schema = self
                        .server
                        .identity_schemas()
                        .find(|(name, _)| *name == req.type_name)
                        .map(|(_, schema)| schema)
                        .ok_or_else(|| unsupported("resource identity for", &req.type_name))?;
                    let identity = decode(Some(identity), &schema.value_type())?;
                    self.server.import_identity(&req.type_name, &identity)?
                }
                _ => self.server.import(&req.type_name, &req.id)?,
            };
            Ok((state, ty))
        });
        Ok(Response::new(match result {
            Ok((state, ty)) => pb::import_resource_state::Response {
                imported_resources: vec![pb::import_resource_state::ImportedResource {
                    identity: self.identity(&req.type_name, &state),
                    type_name: req.type_name,
                    state: Some(encode(&state, &ty)),
                    private: Vec::new(),
                }],
                ..Default::default()
            },
            Err(d) => pb::import_resource_state::Response {
                diagnostics: convert::diagnostics(d),
                ..Default::default()
            },
        }))
    }

    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> Reply<pb::move_resource_state::Response> {
        let req = request.into_inner();
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: convert::diagnostics(
                Diagnostic::error(
                    "Moving state is not supported",
                    format!("genesis resources cannot take state moved from {} ({}). Import the object instead.", req.source_type_name, req.source_provider_address),
                )
                .into(),
            ),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Reply<pb::read_data_source::Response> {
        let req = request.into_inner();
        let (state, diags) = match self
            .data_source_type(&req.type_name)
            .and_then(|ty| Ok((decode(req.config.as_ref(), &ty)?, ty)))
        {
            Ok((config, ty)) => {
                let (state, diags) = self.server.read_data_source(&req.type_name, &config).await;
                (Some(encode(&state, &ty)), diags)
            }
            Err(d) => (None, d),
        };
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn generate_resource_config(
        &self,
        request: Request<pb::generate_resource_config::Request>,
    ) -> Reply<pb::generate_resource_config::Response> {
        let req = request.into_inner();
        let generated = self.resource_type(&req.type_name).and_then(|ty| {
            let state = decode(req.state.as_ref(), &ty)?;
            let config = self.server.generated_config(&req.type_name, &state)?;
            Ok(encode(&config, &ty))
        });
        Ok(Response::new(match generated {
            Ok(config) => pb::generate_resource_config::Response {
                config: Some(config),
                diagnostics: Vec::new(),
            },
            Err(d) => pb::generate_resource_config::Response {
                config: None,
                diagnostics: convert::diagnostics(d),
            },
        }))
    }

    type ListResourceStream = streams::Events<pb::list_resource::Event>;

    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Reply<Self::ListResourceStream> {
        Ok(Response::new(
            streams::list(&self.server, request.into_inner()).await,
        ))
    }

    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Reply<pb::validate_list_resource_config::Response> {
        let req = request.into_inner();
        let diags = self
            .server
            .list_resource_schema(&req.type_name)
            .map(|s| s.value_type())
            .ok_or_else(|| unsupported("list resource", &req.type_name))
            .and_then(|ty| decode(req.config.as_ref(), &ty))
            .map(|config| self.server.validate_list(&req.type_name, &config))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Reply<pb::validate_action_config::Response> {
        let req = request.into_inner();
        let diags = self
            .action_config(&req.action_type, req.config.as_ref())
            .map(|config| self.server.validate_action(&req.action_type, &config))
            .unwrap_or_else(|d| d);
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Reply<pb::plan_action::Response> {
        let req = request.into_inner();
        let diags = match self.action_config(&req.action_type, req.config.as_ref()) {
            Ok(config) => self.server.plan_action(&req.action_type, &config).await,
            Err(d) => d,
        };
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    type InvokeActionStream = streams::Events<pb::invoke_action::Event>;

    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Reply<Self::InvokeActionStream> {
        let req = request.into_inner();
        let config = self.action_config(&req.action_type, req.config.as_ref());
        Ok(Response::new(streams::invoke(
            self.server.clone(),
            req.action_type,
            config,
        )))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Reply<pb::validate_ephemeral_resource_config::Response> {
        let req = request.into_inner();
        let diags = self
            .ephemeral_type(&req.type_name)
            .and_then(|ty| decode(req.config.as_ref(), &ty))
            .map(|config| self.server.validate_ephemeral(&req.type_name, &config))
            .unwrap_or_else(|d| d);
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: convert::diagnostics(diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Reply<pb::open_ephemeral_resource::Response> {
        let req = request.into_inner();
        let decoded = self
            .ephemeral_type(&req.type_name)
            .and_then(|ty| Ok((decode(req.config.as_ref(), &ty)?, ty)));
        let (config, ty) = match decoded {
            Ok(found) => found,
            Err(d) => {
                return Ok(Response::new(pb::open_ephemeral_resource::Response {
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                }));
            }
        };
        let (opened, diags) = self.server.open_ephemeral(&req.type_name, &config).await;
        let failed = diags.has_errors();
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(diags),
            renew_at: opened.renew_at.map(prost_types::Timestamp::from),
            result: (!failed).then(|| encode(&opened.result, &ty)),
            private: (!opened.private.is_empty()).then_some(opened.private),
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Reply<pb::renew_ephemeral_resource::Response> {
        let req = request.into_inner();
        let private = req.private.unwrap_or_default();
        Ok(Response::new(
            match self.server.renew_ephemeral(&req.type_name, &private).await {
                Ok((private, renew_at)) => pb::renew_ephemeral_resource::Response {
                    diagnostics: Vec::new(),
                    renew_at: renew_at.map(prost_types::Timestamp::from),
                    private: (!private.is_empty()).then_some(private),
                },
                Err(d) => pb::renew_ephemeral_resource::Response {
                    diagnostics: convert::diagnostics(d),
                    ..Default::default()
                },
            },
        ))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Reply<pb::close_ephemeral_resource::Response> {
        let req = request.into_inner();
        let private = req.private.unwrap_or_default();
        let diags = self.server.close_ephemeral(&req.type_name, &private).await;
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Reply<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: convert::functions(&self.server.functions),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Reply<pb::call_function::Response> {
        let req = request.into_inner();
        let failed = |e: FunctionError| pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: e.text,
                function_argument: e.argument.map(|i| i as i64),
            }),
        };
        let Some(function) = self.server.functions.get(&req.name) else {
            return Ok(Response::new(failed(FunctionError {
                text: format!("this provider has no function named {:?}", req.name),
                argument: None,
            })));
        };
        let parameters = function.parameters();
        let mut arguments = Vec::with_capacity(req.arguments.len());
        for (i, argument) in req.arguments.iter().enumerate() {
            let ty = parameters.get(i).map_or(Type::Dynamic, |p| p.ty.clone());
            match decode(Some(argument), &ty) {
                Ok(v) => arguments.push(v),
                Err(_) => {
                    return Ok(Response::new(failed(FunctionError::at(
                        i,
                        "the argument is not of the parameter's type",
                    ))));
                }
            }
        }
        Ok(Response::new(
            match self.server.functions.call(&req.name, &arguments) {
                Ok(result) => pb::call_function::Response {
                    result: Some(encode(&result, &function.returns())),
                    error: None,
                },
                Err(e) => failed(e),
            },
        ))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Reply<pb::stop_provider::Response> {
        tracing::info!("stop requested: cancelling operations in flight");
        self.server.stop();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

fn read_failed(
    state: Option<pb::DynamicValue>,
    private: Vec<u8>,
    diags: Diagnostics,
) -> pb::read_resource::Response {
    pb::read_resource::Response {
        new_state: state,
        diagnostics: convert::diagnostics(diags),
        private,
        deferred: None,
        new_identity: None,
    }
}
