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
    let js = reqwest::get(format!("{}/docs/swagger-ui-bundle.js", app.base)).await.expect("get");
    assert_eq!(js.status().as_u16(), 200);
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
