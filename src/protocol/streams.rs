//! The two RPCs that answer with a stream of events: `ListResource` (the
//! objects a list block finds, for `terraform query`) and `InvokeAction`
//! (an action's progress while it runs, then how it ended).

use std::sync::Arc;

use tonic::Status;

use super::convert::{self, decode, encode};
use super::generated::tfplugin6 as pb;
use super::service::unsupported;
use crate::framework::action::Progress;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::server::ProviderServer;
use crate::framework::value::Value;

/// A stream of events for Terraform.
pub type Events<T> = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// The objects the list block finds, one event each; what stopped the
/// list, if anything, in one event of its own.
pub async fn list(
    server: &ProviderServer,
    req: pb::list_resource::Request,
) -> Events<pb::list_resource::Event> {
    let limit = usize::try_from(req.limit).unwrap_or(0);
    let listed = match server
        .list_resource_schema(&req.type_name)
        .map(|s| s.value_type())
        .ok_or_else(|| unsupported("list resource", &req.type_name))
        .and_then(|ty| decode(req.config.as_ref(), &ty))
    {
        Ok(config) => {
            server
                .list(&req.type_name, &config, req.include_resource_object, limit)
                .await
        }
        Err(d) => Err(d),
    };
    let events: Vec<Result<pb::list_resource::Event, Status>> = match listed {
        Ok(listed) => {
            let object_type = server
                .resource_schema(&req.type_name)
                .map(|s| s.value_type());
            listed
                .into_iter()
                .map(|l| {
                    Ok(pb::list_resource::Event {
                        identity: Some(pb::ResourceIdentityData {
                            identity_data: Some(encode(&l.identity, &l.identity_type)),
                        }),
                        display_name: l.display_name,
                        resource_object: l
                            .object
                            .zip(object_type.as_ref())
                            .map(|(o, ty)| encode(&o, ty)),
                        diagnostic: convert::diagnostics(l.diagnostics),
                    })
                })
                .collect()
        }
        Err(d) => vec![Ok(pb::list_resource::Event {
            diagnostic: convert::diagnostics(d),
            ..Default::default()
        })],
    };
    Box::pin(tokio_stream::iter(events))
}

/// Runs the action in a task of its own, its progress forwarded as it
/// comes, and ends with how it ended.
pub fn invoke(
    server: Arc<ProviderServer>,
    action_type: String,
    config: Result<Value, Diagnostics>,
) -> Events<pb::invoke_action::Event> {
    use pb::invoke_action::event::{Completed, Progress as Said, Type};
    let (events, stream) = tokio::sync::mpsc::unbounded_channel();
    let event = |t: Type| Ok(pb::invoke_action::Event { r#type: Some(t) });
    let completed = move |d: Diagnostics| {
        event(Type::Completed(Completed {
            diagnostics: convert::diagnostics(d),
        }))
    };
    match config {
        Err(d) => {
            let _ = events.send(completed(d));
        }
        Ok(config) => {
            tokio::spawn(async move {
                let (said, mut heard) = tokio::sync::mpsc::unbounded_channel::<String>();
                let forwarded = events.clone();
                let forward = async move {
                    while let Some(message) = heard.recv().await {
                        let _ = forwarded.send(event(Type::Progress(Said { message })));
                    }
                };
                let run = async move {
                    let progress = Progress::new(said);
                    server.invoke_action(&action_type, &config, &progress).await
                };
                let (diags, ()) = tokio::join!(run, forward);
                let _ = events.send(completed(diags));
            });
        }
    }
    Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(stream))
}
