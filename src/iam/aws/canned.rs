//! Canned IAM answers over a fake HTTP connector, for the tests of this module.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::AwsIam;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// Answers requests in order with canned (status, body) pairs; records the request bodies.
#[derive(Debug, Clone, Default)]
pub(super) struct Canned {
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    pub(super) fn new(answers: impl IntoIterator<Item = (u16, String)>) -> Self {
        Canned {
            answers: Arc::new(Mutex::new(answers.into_iter().collect())),
            requests: Arc::default(),
        }
    }

    pub(super) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub(super) fn iam(&self) -> AwsIam {
        iam_with(
            self.clone(),
            Credentials::new("AKIDTEST", "not-a-secret", None, None, "test"),
        )
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        self.requests.lock().unwrap().push(body);
        let (status, body) = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("more requests than canned answers");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body),
        )))
    }
}

pub(super) fn iam_with(
    connector: Canned,
    credentials: impl ProvideCredentials + 'static,
) -> AwsIam {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::disabled())
        .http_client(http_client_fn(move |_, _| {
            SharedHttpConnector::new(connector.clone())
        }))
        .build();
    AwsIam::from_client(aws_sdk_iam::Client::from_conf(config))
}

pub(super) fn ok(op: &str, result: &str) -> (u16, String) {
    (
        200,
        format!(
            "<{op}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <{op}Result>{result}</{op}Result>\
             <ResponseMetadata><RequestId>req</RequestId></ResponseMetadata></{op}Response>"
        ),
    )
}

pub(super) fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>req</RequestId></ErrorResponse>"
        ),
    )
}

pub(super) fn more(marker: &str) -> String {
    format!("<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>")
}

pub(super) const DONE: &str = "<IsTruncated>false</IsTruncated>";

pub(super) fn user(name: &str, path: &str) -> String {
    format!(
        "<member><Path>{path}</Path><UserName>{name}</UserName><UserId>AID{name}</UserId>\
         <Arn>arn:aws:iam::123456789012:user{path}{name}</Arn>\
         <CreateDate>2025-01-02T03:04:05Z</CreateDate></member>"
    )
}
