//! One way to run a GraphQL operation, whatever carried it: a POST, a GET
//! or a websocket message. Every transport hands its request here, so the
//! document cache, the per-request loaders and their batching, the error
//! codes and messages, the response's field order and the counting happen
//! in one place, and a new transport or rule is added once.
//!
//! A request whose document has passed validation before, and whose
//! variables can only fail a root field's arguments, runs on the schema
//! that validates in async-graphql's fast mode (see [`documents`]): the
//! document's rules are not run again. A variable that does not fit then
//! fails its root field before the field's resolver runs, and the request
//! is run again on the strict schema, whose answer names the variable as
//! it always has.

use std::{net::IpAddr, sync::Arc, time::Duration};

use async_graphql::{
    Request, Response,
    parser::types::{ExecutableDocument, OperationType},
};
use sea_orm::DatabaseConnection;

use super::in_flight::InFlight;
use super::{
    ApiError, AppSchema, Schemas,
    batching::{self, FetchQueue},
    cost::{Spender, Spent},
    documents::{self, Document, DocumentCache},
    error, field_order,
    loaders::{Loaders, Origin},
    messages,
};
use crate::{auth::Caller, inventory::availability::AvailabilityCache, metrics::Metrics};

#[derive(Clone)]
pub struct Pipeline {
    schemas: Schemas,
    documents: DocumentCache,
    /// What every request's loaders read from.
    loaders: Arc<Origin>,
    metrics: Metrics,
    /// How long a query or mutation may run.
    deadline: Duration,
    /// How many may run at once per client.
    in_flight: InFlight,
}

/// A request whose document parsed, ready to run.
pub struct Operation {
    request: Request,
    document: Arc<Document>,
    /// Makes the request again, should it have to run again on the strict
    /// schema; `None`: it is copied before it runs.
    again: Option<Remake>,
}

/// Makes a request again from what carried it (a POST's body, say), which
/// costs nothing until it is needed, where a copy of the variables made
/// before every run cost ~3 % of the server's time in the flash-sale
/// benchmark. `None` when it cannot.
pub type Remake = Box<dyn FnOnce() -> Option<Request> + Send + Sync>;

impl Operation {
    /// What the request runs: a query, a mutation or a subscription; `None`
    /// when the document does not say which (execution reports why).
    pub fn kind(&self) -> Option<OperationType> {
        documents::operation(&self.document.tree, self.request.operation_name.as_deref())
            .map(|operation| operation.ty)
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn document(&self) -> &Arc<Document> {
        &self.document
    }

    pub fn into_request(self) -> Request {
        self.request
    }

    /// Lets `remake` make the request again, rather than copying it before
    /// it runs.
    pub fn made_again_by(mut self, remake: Remake) -> Self {
        self.again = Some(remake);
        self
    }
}

impl Pipeline {
    pub fn new(
        schemas: Schemas,
        db: DatabaseConnection,
        availability: AvailabilityCache,
        metrics: Metrics,
        deadline: Duration,
        in_flight: InFlight,
    ) -> Self {
        Pipeline {
            schemas,
            documents: DocumentCache::default(),
            loaders: Origin::new(&db, &availability),
            metrics,
            deadline,
            in_flight,
        }
    }

    /// The schema that validates every request in full.
    pub fn schema(&self) -> &AppSchema {
        &self.schemas.strict
    }

    /// Gives the request its parsed document. A document that does not
    /// parse is refused here with a one-line syntax error.
    pub fn prepare(&self, mut request: Request) -> Result<Operation, Box<Response>> {
        match self.documents.parse(&request.query) {
            Ok(document) => {
                request.set_parsed_query(document.tree.clone());
                Ok(Operation {
                    request,
                    document,
                    again: None,
                })
            }
            Err(e) => {
                Err(Box::new(self.counted(Response::from_errors(vec![
                    messages::syntax_error(e),
                ]))))
            }
        }
    }

    /// Runs a query or a mutation for `caller`, who calls from `address`
    /// (what a public caller's cost budget is kept by).
    pub async fn execute(
        &self,
        operation: Operation,
        caller: Caller,
        address: Option<IpAddr>,
    ) -> Response {
        let started = std::time::Instant::now();
        let Some(_slot) = self.in_flight.enter(&caller, address) else {
            return self.refuse(ApiError::Overloaded(self.in_flight.per_client()));
        };
        let kind = operation.kind();
        let Operation {
            request,
            document,
            again,
        } = operation;
        let name = request.operation_name.clone();
        let role = caller.role;
        let spender = Spender::new(&caller, address);
        // Past the deadline the execution is dropped, and with it the
        // transaction it had open: nothing of it commits later. It is built
        // in place: held in a local first, this future would carry it twice
        // (~7 KB each), and copy it whole on every move.
        let response = match tokio::time::timeout(self.deadline, async {
            if !document.may_skip_validation() {
                let response = self
                    .run(&self.schemas.strict, request, &caller, &spender)
                    .await;
                if !is_request_error(&response) {
                    document.passed_validation();
                }
                return response;
            }
            // In case a variable does not fit (see the module docs).
            let again = again.unwrap_or_else(|| {
                let copy = copy_of(&request);
                Box::new(move || Some(copy))
            });
            let response = self
                .run(&self.schemas.fast, request, &caller, &spender)
                .await;
            if !a_variable_did_not_fit(&response) {
                return response;
            }
            let Some(mut again) = again() else {
                return response;
            };
            again.set_parsed_query(document.tree.clone());
            self.run(&self.schemas.strict, again, &caller, &spender)
                .await
        })
        .await
        {
            Ok(response) => response,
            Err(_) => error::error_response(ApiError::Unavailable {
                cause: "deadline",
                message: format!(
                    "the request did not finish within {} ms; retry later",
                    self.deadline.as_millis()
                ),
            }),
        };
        let mut response = finish(response, &document.tree, name.as_deref());
        let operation = if is_request_error(&response) {
            "invalid"
        } else {
            root_field(&document.tree, name.as_deref()).unwrap_or("-")
        };
        self.metrics
            .record_operation(type_name(kind), operation, started.elapsed());
        if let Some(cost) = spender.spent().and_then(Spent::to_value) {
            response.extensions.insert("cost".to_owned(), cost);
        }
        tracing::debug!(
            operation = name.as_deref().unwrap_or("-"),
            kind = ?kind,
            %role,
            errors = response.errors.len(),
            micros = started.elapsed().as_micros() as u64,
            "graphql operation"
        );
        self.counted(response)
    }

    /// Runs `request` on `schema`, with this request's loaders, for
    /// `caller`. Not an `async fn`: the execution is boxed once by
    /// [`batching::drive`] rather than carried in one more future's state.
    fn run<'a>(
        &self,
        schema: &'a AppSchema,
        request: Request,
        caller: &Caller,
        spender: &Spender,
    ) -> impl Future<Output = Response> + Send + use<'a> {
        let queue = FetchQueue::default();
        // Into its data in place: `Request::data` takes and returns the
        // request, a copy of several hundred bytes each time.
        let mut request = request;
        request.data.insert(spender.clone());
        request.data.insert(caller.clone());
        request
            .data
            .insert(Loaders::for_request(&self.loaders, &queue));
        batching::drive(schema.execute(request), queue)
    }

    /// The response for a request refused before it could run.
    pub fn refuse(&self, error: ApiError) -> Response {
        self.counted(error::error_response(error))
    }

    /// Counts a subscription when it starts; its events are not requests.
    pub fn count_subscription(&self) {
        self.metrics.record_graphql(false);
    }

    fn counted(&self, response: Response) -> Response {
        self.metrics.record_graphql(response.is_err());
        self.metrics
            .record_errors(response.errors.iter().filter_map(|error| {
                let extensions = error.extensions.as_ref()?;
                Some((text(extensions.get("code"))?, text(extensions.get("cause"))))
            }));
        response
    }
}

/// A request like `request`, before it ran.
fn copy_of(request: &Request) -> Request {
    let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
    copy.operation_name = request.operation_name.clone();
    copy.extensions = request.extensions.clone();
    copy.introspection_mode = request.introspection_mode;
    copy
}

/// A string extension's text.
fn text(value: Option<&async_graphql::Value>) -> Option<&str> {
    match value {
        Some(async_graphql::Value::String(text)) => Some(text.as_str()),
        _ => None,
    }
}

/// The label of an operation's type.
fn type_name(kind: Option<OperationType>) -> &'static str {
    match kind {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// Whether a root field of a request run without the document's rules
/// failed on an argument: a variable that did not fit, which strict
/// validation may have reported before anything ran. Every error this
/// service's resolvers and guards make carries a code; an error without
/// one on a root field itself (a path of one segment) is async-graphql
/// parsing that field's arguments, before its resolver runs.
fn a_variable_did_not_fit(response: &Response) -> bool {
    response.errors.iter().any(|error| {
        error.path.len() == 1
            && error
                .extensions
                .as_ref()
                .is_none_or(|extensions| extensions.get("code").is_none())
    })
}

/// The operation's first root field: a field of the schema once the
/// request validated, so a label with a bounded set of values.
fn root_field<'a>(document: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a str> {
    documents::operation(document, name)?
        .selection_set
        .node
        .items
        .iter()
        .find_map(|selection| match &selection.node {
            async_graphql::parser::types::Selection::Field(field) => {
                Some(field.node.name.node.as_str())
            }
            _ => None,
        })
}

/// What every response gets before it is sent: variables named in their
/// errors, fields in query order, and a code on every error.
pub fn finish(
    mut response: Response,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Response {
    messages::name_variables(document, &mut response.errors);
    field_order::restore(document, operation_name, &mut response.data);
    error::ensure_codes(response)
}

/// Whether `response` is a request error: nothing ran (the document did not
/// parse or validate, a variable did not fit, the caller was refused), as
/// opposed to a field that failed while others ran.
pub fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}
