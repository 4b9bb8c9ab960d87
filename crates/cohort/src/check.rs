//! `cohort check`: "may this user do this?" asked of a running service (`--url`) or of the
//! data directly (the access index built from the database, as a server builds it). Either
//! way the question is the native API's `POST /api/v1/check` body, read by the same code.

use clap::Args;
use cohort_app::App;
use cohort_core::auth::Principal;
use cohort_http::native::checks::{CheckIn, CheckOut};

#[derive(Args)]
pub struct CheckArgs {
    /// The user asked about: an id (`usr_…`); reading the data directly, a username or email
    /// too.
    #[arg(long)]
    user: String,
    /// A permission the user would hold (through a group, a scope set or their site role).
    #[arg(long, group = "question", required = true)]
    permission: Option<String>,
    /// A group the user would act in (with `--action`).
    #[arg(long, group = "question")]
    group: Option<String>,
    /// What the user would do in `--group`: read, post, manage_members, manage_settings,
    /// moderate or delete.
    #[arg(long, requires = "group", default_value = "read")]
    action: String,
    /// A resource collection the user would reach (with `--access`).
    #[arg(long, group = "question")]
    collection: Option<String>,
    /// The access to `--collection`: read, edit or manage.
    #[arg(long, requires = "collection", default_value = "read")]
    access: String,
    /// Ask the service at this address (`http://host:port`) instead of reading the data.
    #[arg(long, env = "COHORT_URL")]
    url: Option<String>,
    /// The API key or token to ask the service with (`--url`).
    #[arg(long, env = "COHORT_KEY", hide_env_values = true, requires = "url")]
    key: Option<String>,
}

impl CheckArgs {
    /// The question as `POST /api/v1/check` takes it.
    fn body(&self, user_id: &str) -> serde_json::Value {
        let mut body = serde_json::json!({ "user_id": user_id });
        if let Some(p) = &self.permission {
            body["permission"] = p.clone().into();
        }
        if let Some(g) = &self.group {
            body["group_id"] = g.clone().into();
            body["action"] = self.action.clone().into();
        }
        if let Some(c) = &self.collection {
            body["collection_id"] = c.clone().into();
            body["access"] = self.access.clone().into();
        }
        body
    }

    /// Whether `--url` names a service to ask (then no database is opened).
    pub fn remote(&self) -> bool {
        self.url.is_some()
    }
}

/// Asks the running service; prints its answer, and says whether it was allowed.
pub async fn ask_service(args: &CheckArgs) -> Result<bool, String> {
    let Some(url) = &args.url else { return Err("--url is needed to ask a service".into()) };
    let key = args.key.as_deref().ok_or("--key (or COHORT_KEY) is needed to ask a service")?;
    let endpoint = format!("{}/api/v1/check", url.trim_end_matches('/'));
    let res = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(key)
        .json(&args.body(&args.user))
        .send()
        .await
        .map_err(|e| format!("asking {endpoint}: {}", cohort_core::error::chain(&e)))?;
    let status = res.status();
    let answer: serde_json::Value = res.json().await.map_err(|e| format!("reading {endpoint}'s answer: {e}"))?;
    if !status.is_success() {
        let message = answer["message"].as_str().unwrap_or("no message");
        return Err(format!("{endpoint} answered {status}: {message}"));
    }
    println!("{answer}");
    Ok(answer["allowed"].as_bool() == Some(true))
}

/// Answers from the data: builds the access index as a server does, then asks it.
pub async fn ask_data(app: &App, args: &CheckArgs) -> Result<bool, String> {
    let site = Principal::system();
    let user = app.find_user(&site, &args.user).await.map_err(|e| format!("{}: {e}", args.user))?;
    let question: CheckIn = serde_json::from_value(args.body(&user.id)).map_err(|e| e.to_string())?;
    let check = question.into_check().map_err(|e| e.to_string())?;
    app.build_index().await.map_err(|e| format!("building the access index: {e}"))?;
    let answer = app.check(&site, &[check], None).await.map_err(|e| e.to_string())?.pop().ok_or("no answer")?;
    let answer = answer.map_err(|e| e.to_string())?;
    let allowed = answer.allowed;
    println!("{}", serde_json::to_value(CheckOut::from(answer)).map_err(|e| e.to_string())?);
    Ok(allowed)
}
