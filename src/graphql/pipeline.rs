//! One way to run a GraphQL operation, whatever carried it: a POST, a GET
//! or a websocket message. Every transport hands its request here, so the
//! document cache, the per-request loaders and their batching, the error
//! codes and messages, the response's field order and the counting happen
//! in one place, and a new transport or rule is added once.

use std::{net::IpAddr, sync::Arc, time::Duration};

use async_graphql::{
    Request, Response,
    parser::types::{ExecutableDocument, OperationType},
};
use sea_orm::DatabaseConnection;

use super::in_flight::InFlight;
use super::{
    ApiError, AppSchema,
    batching::{self, FetchQueue},
    cost::{Spender, Spent},
    documents::{self, DocumentCache},
    error, field_order,
    loaders::Loaders,
    messages,
};
use crate::{auth::Caller, inventory::availability::AvailabilityCache, metrics::Metrics};

#[derive(Clone)]
pub struct Pipeline {
    schema: AppSchema,
    documents: DocumentCache,
    db: DatabaseConnection,
    availability: AvailabilityCache,
    metrics: Metrics,
    /// How long a query or mutation may run.
    deadline: Duration,
    /// How many may run at once per client.
    in_flight: InFlight,
}

/// A request whose document parsed, ready to run.
pub struct Operation {
    request: Request,
    document: Arc<ExecutableDocument>,
}

impl Operation {
    /// What the request runs: a query, a mutation or a subscription; `None`
    /// when the document does not say which (execution reports why).
    pub fn kind(&self) -> Option<OperationType> {
        documents::operation(&self.document, self.request.operation_name.as_deref())
            .map(|operation| operation.ty)
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn document(&self) -> &Arc<ExecutableDocument> {
        &self.document
    }

    pub fn into_request(self) -> Request {
        self.request
    }
}

impl Pipeline {
    pub fn new(
        schema: AppSchema,
        db: DatabaseConnection,
        availability: AvailabilityCache,
        metrics: Metrics,
        deadline: Duration,
        in_flight: InFlight,
    ) -> Self {
        Pipeline {
            schema,
            documents: DocumentCache::default(),
            db,
            availability,
            metrics,
            deadline,
            in_flight,
        }
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    /// Gives the request its parsed document. A document that does not
    /// parse is refused here with a one-line syntax error.
    pub fn prepare(&self, mut request: Request) -> Result<Operation, Box<Response>> {
        match self.documents.parse(&request.query) {
            Ok(document) => {
                request.set_parsed_query((*document).clone());
                Ok(Operation { request, document })
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
        let Operation { request, document } = operation;
        let name = request.operation_name.clone();
        let role = caller.role;
        let queue = FetchQueue::default();
        let spender = Spender::new(&caller, address);
        let request = request
            .data(spender.clone())
            .data(caller)
            .data(Loaders::for_request(&self.db, &self.availability, &queue));
        let execution = batching::drive(self.schema.execute(request), queue);
        // Past the deadline the execution is dropped, and with it the
        // transaction it had open: nothing of it commits later.
        let response = match tokio::time::timeout(self.deadline, execution).await {
            Ok(response) => response,
            Err(_) => error::error_response(ApiError::Unavailable {
                cause: "deadline",
                message: format!(
                    "the request did not finish within {} ms; retry later",
                    self.deadline.as_millis()
                ),
            }),
        };
        let mut response = finish(response, &document, name.as_deref());
        let operation = if is_request_error(&response) {
            "invalid"
        } else {
            root_field(&document, name.as_deref()).unwrap_or("-")
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
