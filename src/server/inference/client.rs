//! A client for OpenAI-compatible inference servers (llama.cpp's server, vLLM, Ollama, hosted
//! ones): model listing and chat completions with a JSON schema, with timeouts and retries.

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Where and how to reach the inference server.
#[derive(Clone, Debug, PartialEq)]
pub struct InferenceConfig {
    /// E.g. `http://127.0.0.1:8080/v1` (a trailing `/v1` is added when missing).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Why a call failed, in words an admin can act on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InferenceError {
    #[error("no answer within {0} s (timeout)")]
    Timeout(u64),
    #[error("cannot reach the inference server: {0}")]
    Connect(String),
    #[error("the inference server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the model's reply is not usable: {0}")]
    Malformed(String),
}

impl InferenceError {
    /// Worth another try: the server was busy, failing or slow.
    fn transient(&self) -> bool {
        match self {
            InferenceError::Timeout(_) | InferenceError::Connect(_) => true,
            InferenceError::Status { status, .. } => *status == 429 || *status >= 500,
            InferenceError::Malformed(_) => false,
        }
    }
}

/// Attempts per call: the first and two retries, waiting 0.5 s then 1 s (or what
/// Retry-After says, up to 5 s).
const ATTEMPTS: u32 = 3;

pub struct Completion {
    pub content: String,
    pub latency: Duration,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: InferenceConfig,
}

impl Client {
    pub fn new(config: InferenceConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .expect("a reqwest client without TLS options builds");
        Self { http, config }
    }

    pub fn config(&self) -> &InferenceConfig {
        &self.config
    }

    /// The same server, asking for another model.
    pub fn with_model(&self, model: &str) -> Self {
        let mut other = self.clone();
        other.config.model = model.to_owned();
        other
    }

    fn url(&self, path: &str) -> String {
        let base = self.config.base_url.trim_end_matches('/');
        if base.ends_with("/v1") {
            format!("{base}{path}")
        } else {
            format!("{base}/v1{path}")
        }
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.api_key {
            Some(key) if !key.is_empty() => builder.bearer_auth(key),
            _ => builder,
        }
    }

    /// One attempt: the JSON body of a 2xx answer, or why not.
    async fn once(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<Value, (InferenceError, Option<Duration>)> {
        let timeout = self.config.timeout.as_secs();
        let transport = |e: reqwest::Error| {
            let error = if e.is_timeout() {
                InferenceError::Timeout(timeout)
            } else {
                InferenceError::Connect(e.without_url().to_string())
            };
            (error, None)
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(5)));
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            // OpenAI's envelope {"error": {"message"}} when there is one.
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err((
                InferenceError::Status {
                    status: status.as_u16(),
                    message,
                },
                retry_after,
            ));
        }
        serde_json::from_str(&text).map_err(|e| {
            (
                InferenceError::Malformed(format!("the server's answer is not JSON: {e}")),
                None,
            )
        })
    }

    /// Sends the request up to [`ATTEMPTS`] times while the failure is transient.
    async fn with_retries(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Value, InferenceError> {
        let mut wait = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.once(self.request(make())).await {
                Ok(value) => return Ok(value),
                Err((error, retry_after)) if error.transient() && attempt < ATTEMPTS => {
                    tracing::debug!(attempt, error = %error, "inference call failed; retrying");
                    tokio::time::sleep(retry_after.unwrap_or(wait)).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// The ids of the models the server offers (`GET /v1/models`).
    pub async fn models(&self) -> Result<Vec<String>, InferenceError> {
        let body = self
            .with_retries(|| self.http.get(self.url("/models")))
            .await?;
        let list = body["data"]
            .as_array()
            .ok_or_else(|| InferenceError::Malformed("no \"data\" list of models".into()))?;
        Ok(list
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// A chat completion whose reply must follow `schema` (`response_format` of type
    /// `json_schema`, which llama.cpp and vLLM enforce with a grammar). Returns the reply
    /// parsed as JSON; the caller still checks its content.
    pub async fn chat_json(
        &self,
        system: Option<&str>,
        user: &str,
        schema: &Value,
        max_tokens: u32,
        temperature: f32,
        seed: Option<u64>,
    ) -> Result<(Value, Duration), InferenceError> {
        let completion = self
            .chat(system, user, Some(schema), max_tokens, temperature, seed)
            .await?;
        let value = serde_json::from_str(completion.content.trim()).map_err(|e| {
            InferenceError::Malformed(format!(
                "the reply is not JSON ({e}): {}",
                completion.content.chars().take(200).collect::<String>()
            ))
        })?;
        Ok((value, completion.latency))
    }

    /// A plain chat completion (or one constrained by `schema`).
    pub async fn chat(
        &self,
        system: Option<&str>,
        user: &str,
        schema: Option<&Value>,
        max_tokens: u32,
        temperature: f32,
        seed: Option<u64>,
    ) -> Result<Completion, InferenceError> {
        let mut messages = Vec::new();
        if let Some(system) = system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({"role": "user", "content": user}));
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        });
        if let Some(seed) = seed {
            body["seed"] = json!(seed);
        }
        if let Some(schema) = schema {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "judgement", "strict": true, "schema": schema}
            });
        }
        let started = Instant::now();
        let reply = self
            .with_retries(|| self.http.post(self.url("/chat/completions")).json(&body))
            .await?;
        let choice = &reply["choices"][0];
        if choice["finish_reason"] == "length" && schema.is_some() {
            return Err(InferenceError::Malformed(format!(
                "the reply was cut off at max_tokens ({max_tokens})"
            )));
        }
        let content = choice["message"]["content"]
            .as_str()
            .ok_or_else(|| InferenceError::Malformed("no choices[0].message.content".into()))?
            .to_owned();
        Ok(Completion {
            content,
            latency: started.elapsed(),
        })
    }
}
