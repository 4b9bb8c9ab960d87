//! The admin console's page and assets, served by the binary (its behaviour in a browser is
//! tested by `tests/console/run.sh`).

use crate::helpers::TestApp;
use crate::story;

story!(the_console_is_served_and_a_browser_at_the_root_is_sent_there, |app: TestApp| async move {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str, accept: &str| client.get(format!("{}{path}", app.base)).header("Accept", accept.to_string()).send();
    for root in ["/", "/_/", "/admin"] {
        let res = get(root, "text/html,application/xhtml+xml").await.unwrap();
        assert!(res.status().is_redirection(), "{root}: {}", res.status());
        assert_eq!(res.headers()["location"], "/console/");
    }
    // An API client at the root gets the API's 404.
    let res = get("/", "application/json").await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "not_found");

    let page = get("/console/", "text/html").await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/console/console.js") && html.contains("<main"), "{html}");
    for (asset, kind) in [("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")] {
        let res = get(asset, "*/*").await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with(kind), "{asset}");
        assert!(!res.text().await.unwrap().contains("https://"), "{asset} fetches nothing from elsewhere");
    }
});
