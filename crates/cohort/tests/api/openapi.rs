//! The OpenAPI document is generated from the handlers and pinned: a contract change shows
//! as a snapshot diff (`cargo insta review` accepts it).

use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn openapi_document_is_pinned() {
    let doc = serde_json::to_value(cohort_http::openapi()).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_its_document_and_docs_offline() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served =
        reqwest::get(format!("{}/api/openapi.json", app.base)).await.expect("get").json::<serde_json::Value>().await.expect("json");
    assert_eq!(served, serde_json::to_value(cohort_http::openapi()).expect("json"));
    let page = reqwest::get(format!("{}/docs/", app.base)).await.expect("get");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui") && !html.contains("cdn"), "the docs page loads its assets from the binary");
    assert!(html.contains("<title>Cohort API</title>"), "{html}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-initializer.js", "swagger-ui.css", "index.css"] {
        let res = reqwest::get(format!("{}/docs/ui/{asset}", app.base)).await.expect("get");
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        if asset == "swagger-initializer.js" {
            assert!(res.text().await.expect("js").contains("/api/openapi.json"), "the page reads the served document");
        }
    }
    for path in ["/healthz", "/readyz"] {
        assert_eq!(reqwest::get(format!("{}{path}", app.base)).await.expect("get").status().as_u16(), 200);
    }
}

/// Every `$ref` names a schema the document defines: a dangling one makes generated clients
/// and schema fuzzers skip what it describes.
#[test]
fn every_reference_resolves() {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(cohort_http::openapi()).expect("json");
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    let dangling: Vec<&String> = found.iter().filter(|r| doc.pointer(r.trim_start_matches('#')).is_none()).collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

#[test]
fn path_parameters_are_never_empty() {
    // An empty id would turn `/groups/{id}/members` into `/groups//members`, which clients
    // fold into another route: the document rules it out for every path parameter.
    let doc = serde_json::to_value(cohort_http::openapi()).expect("json");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            // Enumerated parameters (`$ref` to an enum) name no empty value either.
            for param in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path" && p["schema"]["type"] == "string")
            {
                checked += 1;
                assert_eq!(param["schema"]["minLength"], 1, "{method} {path}: {}", param["name"]);
            }
        }
    }
    assert!(checked > 50, "{checked}");
}

/// The document describes every route every surface serves, and nothing else; each operation
/// has a unique name, words on every answer, the credentials it takes, and an example answer
/// (and request, when it takes a body).
#[test]
fn every_route_is_described_once_with_what_a_client_needs() {
    let doc = serde_json::to_value(cohort_http::openapi()).expect("json");
    let mut documented = std::collections::BTreeSet::new();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item").iter().filter(|(k, _)| *k != "parameters") {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at} has no operationId"));
            assert!(ids.insert(id.to_string()), "{at}: operationId {id} is used twice");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{at} has no tag");
            assert!(op["security"].is_array(), "{at} says no credentials");
            for (status, r) in op["responses"].as_object().expect("responses") {
                let r = match r["$ref"].as_str() {
                    Some(target) => doc.pointer(target.trim_start_matches('#')).expect("response ref"),
                    None => r,
                };
                assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{at} {status} has no description");
                if status.starts_with('2') && r.get("content").is_some() {
                    for (media, c) in r["content"].as_object().expect("content") {
                        assert!(c.get("example").is_some(), "{at} {status} {media} has no example");
                    }
                }
            }
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (media, c) in content {
                    assert!(c.get("example").is_some(), "{at} request {media} has no example");
                }
            }
            documented.insert(at);
        }
    }
    let served: std::collections::BTreeSet<String> = cohort_http::routes::ROUTES.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    // The seed's spelling of the admin list with a trailing slash is served and documented once,
    // without it (a trailing slash is a lint error, and the two answer alike).
    let undocumented: Vec<&String> = served.difference(&documented).filter(|r| !r.ends_with("/api/admin/groups/")).collect();
    assert!(undocumented.is_empty(), "served, not described: {undocumented:?}");
    let unserved: Vec<&String> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "described, not served: {unserved:?}");
}
