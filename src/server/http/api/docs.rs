//! The OpenAPI document and a page that renders it (no script, nothing fetched elsewhere).

use super::Document;
use axum::Extension;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use serde_json::Value;
use std::fmt::Write;

/// This API's OpenAPI 3.1 document, generated from the handlers and types.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}

/// The OpenAPI document as a readable page.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "meta",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String))
)]
pub async fn page(Extension(doc): Extension<Document>) -> Html<String> {
    let value: Value = serde_json::from_str(&doc.0).unwrap_or(Value::Null);
    Html(render(&value))
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `#/components/schemas/Name` → `Name`; inline schemas as their type.
fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!(
                "array of {}",
                schema_name(schema.get("items").unwrap_or(&Value::Null))
            )
        }
        Some(t) => esc(&t.to_string().replace('"', "")),
        None => "any".into(),
    }
}

fn render(doc: &Value) -> String {
    let mut h = String::new();
    let info = &doc["info"];
    let base = doc["servers"][0]["url"].as_str().unwrap_or("");
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/pkg/verdict.css\"></head><body class=\"api-docs\"><main>\
         <h1>{title} <small>v{version}</small></h1><p>{desc}</p>\
         <p>OpenAPI {openapi}: <a href=\"{base}/openapi.json\">{base}/openapi.json</a></p>",
        title = esc(text(info, "title")),
        version = esc(text(info, "version")),
        desc = esc(text(info, "description")),
        openapi = esc(text(doc, "openapi")),
    );
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let scopes: Vec<String> = op["security"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|s| s["bearer"].as_array())
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(
                h,
                "<section class=\"api-op\"><h2><code>{} {}{}</code></h2><p><strong>{}</strong></p><p>{}</p>",
                esc(&method.to_uppercase()),
                esc(base),
                esc(path),
                esc(text(op, "summary")),
                esc(text(op, "description")),
            );
            if !scopes.is_empty() {
                let _ = write!(
                    h,
                    "<p>Token scope: <code>{}</code></p>",
                    esc(&scopes.join(" or "))
                );
            }
            if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                h.push_str("<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>");
                for p in params {
                    let _ = write!(
                        h,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(text(p, "name")),
                        if p["required"].as_bool() == Some(true) {
                            " (required)"
                        } else {
                            ""
                        },
                        esc(text(p, "in")),
                        schema_name(&p["schema"]),
                        esc(text(p, "description")),
                    );
                }
                h.push_str("</tbody></table>");
            }
            if let Some(content) = op["requestBody"]["content"].as_object() {
                h.push_str("<p>Body: ");
                for (kind, media) in content {
                    let _ = write!(
                        h,
                        "<code>{}</code> {} ",
                        esc(kind),
                        schema_name(&media["schema"])
                    );
                }
                h.push_str("</p>");
            }
            h.push_str("<ul>");
            for (status, response) in op["responses"].as_object().unwrap_or(&empty) {
                let body = response["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .map(|m| schema_name(&m["schema"]))
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<li><code>{}</code> {} {}</li>",
                    esc(status),
                    esc(text(response, "description")),
                    body
                );
            }
            h.push_str("</ul></section>");
        }
    }
    h.push_str("<h2>Schemas</h2>");
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap_or(&empty) {
        let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
        let _ = write!(
            h,
            "<section id=\"schema-{0}\"><h3>{0}</h3><pre>{1}</pre></section>",
            esc(name),
            esc(&pretty)
        );
    }
    h.push_str("</main></body></html>");
    h
}
