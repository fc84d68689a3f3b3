//! Reads of a refresh, shared: Terraform refreshes every workload through
//! one provider process, so where several workloads of a cluster read the
//! same kind in the same namespace, one list serves them all instead of a
//! GET per object per workload (API Priority and Fairness throttles
//! clients that make many calls, exactly when a platform is big).
//!
//! The first read of a kind in a namespace is a GET, so that refreshing
//! one workload never lists a namespace full of others' objects; the
//! second and later reads share one list (paged), which answers for every
//! object of the kind in the namespace, found or not. A list is used only
//! while no write has ended since it started (`cloud::writes`: every
//! client Genesis makes counts its writes, see [`CountWrites`]), and for
//! at most `writes::FRESH_FOR`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use kube::api::{DynamicObject, ListParams};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::cloud::writes::{self, SharedReads};

/// Objects per page of a list.
const PAGE: u32 = 500;

/// The objects of one kind in one namespace, by name; `None` when the list
/// was refused (RBAC without `list`): reads then GET.
type Listed = Option<Arc<HashMap<String, Json>>>;

/// A list's cluster (its key's hash), kind and namespace.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    cluster: u64,
    kind: &'static str,
    namespace: String,
}

/// The lists this process has made, per cluster, kind and namespace.
pub type Listings = SharedReads<Key, Listed>;

/// One cluster's shared reads.
#[derive(Clone)]
pub struct ClusterListings {
    pub(crate) listings: Arc<Listings>,
    pub(crate) cluster: u64,
}

impl ClusterListings {
    /// The object `name` of `kind` (read through `api`): by GET the first
    /// time its kind and namespace are read, else from their shared list.
    pub async fn get(
        &self,
        api: &kube::Api<DynamicObject>,
        kind: &'static str,
        namespace: &str,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Option<Json>, kube::Error> {
        let key = Key {
            cluster: self.cluster,
            kind,
            namespace: namespace.to_string(),
        };
        let (asked, list) = self.listings.read(key);
        if asked > 1 {
            let listed = list.get_or_try_init(|| list_all(api, stop)).await?.clone();
            if let Some(objects) = listed {
                return Ok(objects.get(name).cloned());
            }
        }
        super::get_json(api, name, stop).await
    }
}

/// Every object of the api's kind in its namespace, page by page; `None`
/// when listing is forbidden.
async fn list_all(
    api: &kube::Api<DynamicObject>,
    stop: &CancellationToken,
) -> Result<Listed, kube::Error> {
    let mut objects = HashMap::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = match super::retried(stop, || api.list(&params)).await {
            Ok(page) => page,
            Err(kube::Error::Api(s)) if s.code == 403 => return Ok(None),
            Err(e) => return Err(e),
        };
        for object in page.items {
            if let Some(name) = object.metadata.name.clone() {
                objects.insert(name, serde_json::to_value(&object).unwrap_or_default());
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(next) => params = params.continue_token(&next),
            None => return Ok(Some(Arc::new(objects))),
        }
    }
}

/// A layer for every client Genesis makes: each call that is not a read
/// counts as a write once its response comes (`cloud::writes`), so shared
/// reads made before it are not used after it.
pub struct CountWrites;

impl<S> tower::Layer<S> for CountWrites {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted(inner)
    }
}

/// A service that counts its writes (see [`CountWrites`]).
pub struct Counted<S>(S);

impl<S, B> tower::Service<http::Request<B>> for Counted<S>
where
    S: tower::Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let write = !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
        let response = self.0.call(request);
        Box::pin(async move {
            let response = response.await;
            if write {
                writes::ended();
            }
            response
        })
    }
}
