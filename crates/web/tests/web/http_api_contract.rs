//! The OpenAPI document against the API it describes: every path it lists is fetched from the
//! running application (a published province), and each answer is checked against the
//! documented schema (`$ref`, `allOf`, types, `required`, `nullable`, `enum`, and no property
//! the document does not name). Every `/api/v1` route the router has must be documented.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::http_results::{province, publish};
use crate::support::TestApp;
use crate::web_test;

/// Resolves `{"$ref": "#/components/schemas/X"}` against the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local references: {reference}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling reference {reference}"));
            resolve(doc, target)
        }
        None => schema,
    }
}

/// The properties a schema names, through `allOf`; `None` when it names none (free object).
fn documented_properties(doc: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let schema = resolve(doc, schema);
    let mut names = BTreeSet::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        names.extend(properties.keys().cloned());
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        names.extend(documented_properties(doc, part)?);
    }
    (!names.is_empty()).then_some(names)
}

/// Checks `value` against `schema`, collecting every mismatch with its JSON path.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_fields(doc, part, value, at, errors);
    }
    if let Some(names) = documented_properties(doc, schema)
        && let Some(object) = value.as_object()
    {
        for key in object.keys().filter(|key| !names.contains(*key)) {
            errors.push(format!("{at}.{key}: not in the document"));
        }
    }
    check_fields(doc, schema, value, at, errors);
}

/// The checks of one schema object, without the undocumented-property check (which needs
/// the union of an `allOf`).
fn check_fields(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() {
        if schema.get("type").is_some() && schema["nullable"] != Value::Bool(true) {
            errors.push(format!("{at}: null, not nullable"));
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} not in {allowed:?}"));
    }
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return;
    };
    let fits = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => panic!("{at}: unknown type {other} in the document"),
    };
    if !fits {
        errors.push(format!("{at}: {value} is not {kind}"));
        return;
    }
    if let Some(object) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required {name} missing"));
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if let Some(field) = object.get(name) {
                    check(doc, property, field, &format!("{at}.{name}"), errors);
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{index}]"), errors);
        }
    }
}

/// The JSON schema a documented response of `operation` carries.
fn response_schema<'a>(operation: &'a Value, status: &str) -> &'a Value {
    &operation["responses"][status]["content"]["application/json"]["schema"]
}

web_test!(
    every_documented_path_answers_what_the_document_says,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        publish(&app, period, &units).await;
        let mut public = app.client();
        let r = public.get("/api/v1/openapi.json").await;
        assert_eq!(r.status, StatusCode::OK);
        let doc: Value = serde_json::from_str(&r.body).unwrap();
        let sets: Value =
            serde_json::from_str(&public.get("/api/v1/index-sets").await.body).unwrap();
        let set = sets["index_sets"][0]["id"]
            .as_i64()
            .expect("a published set");

        let paths = doc["paths"].as_object().unwrap();
        for (template, item) in paths {
            let operation = &item["get"];
            assert!(operation.is_object(), "{template}: only GET is served");
            let id = if template.starts_with("/api/v1/periods/") {
                period
            } else {
                set
            };
            let path = template.replace("{id}", &id.to_string());
            let r = public.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            assert!(
                r.header("content-type").starts_with("application/json"),
                "{path}"
            );
            let body: Value = serde_json::from_str(&r.body).unwrap();
            let schema = response_schema(operation, "200");
            assert!(!schema.is_null(), "{template}: no 200 schema");
            let mut errors = Vec::new();
            check(&doc, schema, &body, "$", &mut errors);
            assert!(errors.is_empty(), "{path}:\n{}", errors.join("\n"));

            // A documented 404 answers the documented error.
            if template.contains("{id}") {
                assert!(operation["responses"]["404"].is_object(), "{template}");
                let path = template.replace("{id}", "999999");
                let r = public.get(&path).await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
                let body: Value = serde_json::from_str(&r.body).unwrap();
                let mut errors = Vec::new();
                check(
                    &doc,
                    response_schema(operation, "404"),
                    &body,
                    "$",
                    &mut errors,
                );
                assert!(errors.is_empty(), "{path}:\n{}", errors.join("\n"));
            }
        }
        // The published results must have exercised the deep schemas, not empty lists.
        let results: Value = serde_json::from_str(
            &public
                .get(&format!("/api/v1/periods/{period}/results"))
                .await
                .body,
        )
        .unwrap();
        assert!(results["groups"][0]["units"][0]["criteria"][0].is_object());

        // Every route of the API is in the document.
        for route in parindex_web::routes::all().list() {
            if route.path.starts_with("/api/v1") {
                assert!(
                    paths.contains_key(route.path),
                    "{} {} is not documented",
                    route.method,
                    route.path
                );
            }
        }
        app
    }
);

#[test]
fn the_checker_catches_mismatches() {
    let doc = serde_json::json!({ "components": { "schemas": {
        "A": { "type": "object", "required": ["n"], "properties": {
            "n": { "type": "integer" },
            "s": { "type": "string", "nullable": true, "enum": ["x", null] }
        } }
    } } });
    let schema = serde_json::json!({ "$ref": "#/components/schemas/A" });
    let errors = |value: Value| {
        let mut errors = Vec::new();
        check(&doc, &schema, &value, "$", &mut errors);
        errors
    };
    assert!(errors(serde_json::json!({ "n": 1, "s": null })).is_empty());
    assert!(errors(serde_json::json!({ "n": 1, "s": "x" })).is_empty());
    assert_eq!(errors(serde_json::json!({ "s": "x" })).len(), 1);
    assert_eq!(errors(serde_json::json!({ "n": "1" })).len(), 1);
    assert_eq!(errors(serde_json::json!({ "n": 1, "s": "y" })).len(), 1);
    assert_eq!(errors(serde_json::json!({ "n": 1, "extra": 0 })).len(), 1);
}
