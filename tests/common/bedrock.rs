//! A small local stand-in for Bedrock, speaking its REST-JSON on 127.0.0.1: the control plane's
//! model-access operations (`GetFoundationModelAvailability`,
//! `ListFoundationModelAgreementOffers`, `CreateFoundationModelAgreement`,
//! `Get/PutUseCaseForModelAccess`) and the runtime's `InvokeModel`.
//!
//! Why a stand-in: moto does not serve these control-plane operations, nor Bedrock's answers
//! about Marketplace subscriptions, Anthropic's use-case form or region availability. The
//! paths, methods and JSON shapes follow the aws-sdk-bedrock crate's serializers; error answers
//! carry `x-amzn-errortype` and a JSON `message`, as AWS sends them, and the runtime's denial is
//! the real Marketplace `AccessDeniedException` message. Each model is configured on its own
//! (available, not entitled, agreement pending, not in region, no use case), and a model can
//! "succeed first, deny later", as AWS documents for a subscription still being finalised.
//! Point the binary at it with `AWS_ENDPOINT_URL_BEDROCK` and `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// The runtime's Marketplace denial, as AWS words it.
pub const MARKETPLACE_DENIED: &str = "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 2 minutes.";
pub const USE_CASE_MISSING: &str = "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model. If you have already filled out the form, try again in 15 minutes.";

/// One foundation model's state in the account.
#[derive(Debug, Clone)]
pub struct Model {
    pub authorization: &'static str,
    pub entitlement: &'static str,
    pub agreement: &'static str,
    pub region: &'static str,
    /// InvokeModel calls answered with success before the Marketplace denial starts (None:
    /// always as the entitlement says).
    pub ok_first: Option<u32>,
}

impl Model {
    pub fn available() -> Model {
        Model {
            authorization: "AUTHORIZED",
            entitlement: "AVAILABLE",
            agreement: "AVAILABLE",
            region: "AVAILABLE",
            ok_first: None,
        }
    }
    /// No agreement accepted: the offer waits for `models activate`.
    pub fn not_entitled() -> Model {
        Model {
            entitlement: "NOT_AVAILABLE",
            agreement: "NOT_AVAILABLE",
            ..Model::available()
        }
    }
    pub fn agreement_pending() -> Model {
        Model {
            entitlement: "NOT_AVAILABLE",
            agreement: "PENDING",
            ..Model::available()
        }
    }
    pub fn not_in_region() -> Model {
        Model {
            region: "NOT_AVAILABLE",
            entitlement: "NOT_AVAILABLE",
            agreement: "NOT_AVAILABLE",
            ..Model::available()
        }
    }
    /// Available on the control plane, yet the runtime answers `n` calls and then denies: the
    /// subscription failed after the first calls went through.
    pub fn succeeds_then_denies(n: u32) -> Model {
        Model {
            ok_first: Some(n),
            ..Model::available()
        }
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub models: BTreeMap<String, Model>,
    /// Anthropic's first-use form (JSON), when on file.
    pub use_case: Option<Vec<u8>>,
    /// `METHOD /path` of every request, in order.
    pub calls: Vec<String>,
    /// InvokeModel calls per model id (as sent).
    pub invocations: BTreeMap<String, u32>,
}

pub struct Bedrock {
    pub state: Arc<Mutex<State>>,
    endpoint: String,
}

impl Bedrock {
    pub fn start() -> Bedrock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Bedrock stand-in");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Bedrock { state, endpoint }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn set(&self, model: &str, m: Model) -> &Self {
        self.state
            .lock()
            .unwrap()
            .models
            .insert(model.to_string(), m);
        self
    }

    pub fn set_use_case(&self, form: Option<&str>) -> &Self {
        self.state.lock().unwrap().use_case = form.map(|f| f.as_bytes().to_vec());
        self
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn model(&self, id: &str) -> Model {
        self.state.lock().unwrap().models[id].clone()
    }

    /// Points `cmd`'s Bedrock control plane and runtime here (IAM stays where it was).
    pub fn apply_env<'a>(
        &self,
        cmd: &'a mut std::process::Command,
    ) -> &'a mut std::process::Command {
        cmd.env("AWS_ENDPOINT_URL_BEDROCK", &self.endpoint)
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &self.endpoint)
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let path = target.split('?').next().unwrap_or_default();
    let path = urlencoding::decode(path)
        .map(|p| p.into_owned())
        .unwrap_or_else(|_| path.to_string());
    Ok(Some(Request { method, path, body }))
}

fn respond(mut stream: &TcpStream, status: u16, error: Option<&str>, body: &Value) {
    let body = body.to_string();
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(code) = error {
        head.push_str(&format!("x-amzn-errortype: {code}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn error(stream: &TcpStream, status: u16, code: &str, message: &str) {
    respond(stream, status, Some(code), &json!({ "message": message }));
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let Some(req) = read_request(&stream)? else {
        return Ok(());
    };
    let mut st = state.lock().unwrap();
    st.calls.push(format!("{} {}", req.method, req.path));
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let segments: Vec<&str> = req.path.trim_start_matches('/').splitn(2, '/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["foundation-model-availability", id]) => match st.models.get(*id) {
            Some(m) => respond(
                &stream,
                200,
                None,
                &json!({
                    "modelId": id,
                    "agreementAvailability": {"status": m.agreement},
                    "authorizationStatus": m.authorization,
                    "entitlementAvailability": m.entitlement,
                    "regionAvailability": m.region,
                }),
            ),
            None => error(
                &stream,
                404,
                "ResourceNotFoundException",
                &format!("Model {id} not found"),
            ),
        },
        ("GET", ["list-foundation-model-agreement-offers", id]) => {
            if st.models.contains_key(*id) {
                respond(
                    &stream,
                    200,
                    None,
                    &json!({
                        "modelId": id,
                        "offers": [{
                            "offerId": format!("offer-{id}"),
                            "offerToken": format!("token-{id}"),
                            "termDetails": {
                                "usageBasedPricingTerm": {"rateCard": [{
                                    "dimension": "input-tokens",
                                    "price": "0.0008",
                                    "description": "input tokens",
                                    "unit": "USD per 1K"
                                }]},
                                "legalTerm": {"url": "https://aws.amazon.com/legal/bedrock/third-party-models/"}
                            }
                        }]
                    }),
                )
            } else {
                error(
                    &stream,
                    404,
                    "ResourceNotFoundException",
                    &format!("Model {id} not found"),
                )
            }
        }
        ("POST", ["create-foundation-model-agreement"]) => {
            let id = body["modelId"].as_str().unwrap_or_default().to_string();
            let token_ok = body["offerToken"] == json!(format!("token-{id}"));
            match st.models.get_mut(&id) {
                Some(m) if token_ok => {
                    m.agreement = "AVAILABLE";
                    m.entitlement = "AVAILABLE";
                    respond(&stream, 200, None, &json!({ "modelId": id }));
                }
                Some(_) => error(&stream, 400, "ValidationException", "invalid offer token"),
                None => error(&stream, 404, "ResourceNotFoundException", "no such model"),
            }
        }
        ("GET", ["use-case-for-model-access"]) => match &st.use_case {
            Some(form) => respond(
                &stream,
                200,
                None,
                &json!({ "formData": aws_smithy_types::base64::encode(form) }),
            ),
            None => error(
                &stream,
                404,
                "ResourceNotFoundException",
                "No use case details found for this account",
            ),
        },
        ("POST", ["use-case-for-model-access"]) => {
            let encoded = body["formData"].as_str().unwrap_or_default();
            st.use_case = Some(aws_smithy_types::base64::decode(encoded).unwrap_or_default());
            respond(&stream, 201, None, &json!({}));
        }
        ("POST", ["model", rest]) if rest.ends_with("/invoke") => {
            let id = rest.trim_end_matches("/invoke").to_string();
            let n = {
                let c = st.invocations.entry(id.clone()).or_default();
                *c += 1;
                *c
            };
            let base = foundation_model(&id);
            let use_case = st.use_case.is_some();
            match st.models.get(&base) {
                None => error(
                    &stream,
                    404,
                    "ResourceNotFoundException",
                    "Could not resolve the foundation model from the provided model identifier.",
                ),
                Some(m) if m.region != "AVAILABLE" => error(
                    &stream,
                    400,
                    "ValidationException",
                    &format!("The model {base} is not supported in this region."),
                ),
                Some(_) if base.starts_with("anthropic.") && !use_case => {
                    error(&stream, 404, "ResourceNotFoundException", USE_CASE_MISSING)
                }
                Some(m) if m.ok_first.is_some_and(|ok| n > ok) || m.entitlement != "AVAILABLE" => {
                    error(&stream, 403, "AccessDeniedException", MARKETPLACE_DENIED)
                }
                Some(_) => respond(
                    &stream,
                    200,
                    None,
                    &json!({"content": [{"type": "text", "text": "p"}], "embedding": [0.1]}),
                ),
            }
        }
        _ => error(
            &stream,
            404,
            "UnknownOperationException",
            &format!("{} {}", req.method, req.path),
        ),
    }
    Ok(())
}

/// The stand-in's copy of the prefix rule (kept independent of the product's code on purpose).
fn foundation_model(id: &str) -> String {
    for p in [
        "us-gov.", "global.", "apac.", "us.", "eu.", "jp.", "au.", "ca.",
    ] {
        if let Some(rest) = id.strip_prefix(p) {
            return rest.to_string();
        }
    }
    id.to_string()
}
