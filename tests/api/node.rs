//! Running the real JavaScript clients in `tests/clients/` with Node.js.
//!
//! Needs Node.js 20 or later and npm; the locked packages are installed into
//! `tests/clients/node_modules` on first use (`npm ci`). The browser checks
//! also need Debian's Chromium at `/usr/bin/chromium` (or `$CHROMIUM`) and
//! Debian's Firefox ESR at `/usr/bin/firefox-esr` (or `$FIREFOX`).

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use serde_json::Value;

/// How long one client script may take.
const PATIENCE: Duration = Duration::from_secs(120);

/// The browsers the page checks run in (`tests/clients/offline_browser.mjs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    /// The script's `$BROWSER`.
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }

    /// What its `navigator.userAgent` names it by.
    fn user_agent_mark(self) -> &'static str {
        match self {
            Browser::Chromium => "Chrome/",
            Browser::Firefox => "Firefox/",
        }
    }

    /// Fails unless `user_agent` is this browser's.
    pub fn assert_is(self, user_agent: &serde_json::Value) {
        let user_agent = user_agent.as_str().unwrap_or_default();
        assert!(
            user_agent.contains(self.user_agent_mark()),
            "the page ran in {}: {user_agent}",
            self.name()
        );
    }
}

pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Installs the locked npm packages, once per test run.
pub fn npm_packages() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = clients_dir();
        // npm keeps what it installed in node_modules/.package-lock.json: a
        // tree installed from another lock is installed again.
        let packages = |file: &str| -> Option<Value> {
            let text = std::fs::read_to_string(dir.join(file)).ok()?;
            let mut packages = serde_json::from_str::<Value>(&text).ok()?["packages"].take();
            packages.as_object_mut()?.remove("");
            Some(packages)
        };
        let wanted = packages("package-lock.json").expect("tests/clients has a lock file");
        if packages("node_modules/.package-lock.json") == Some(wanted) {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (these tests need Node.js 20+ and npm)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    });
}

/// Runs `node <script> <args>` in `tests/clients` and returns the JSON
/// lines it printed; the script must succeed.
pub async fn run_script(script: &str, args: Vec<String>) -> Vec<Value> {
    run_browser_script(Browser::Chromium, script, args).await
}

/// [`run_script`] for a page check, in `browser`.
pub async fn run_browser_script(browser: Browser, script: &str, args: Vec<String>) -> Vec<Value> {
    npm_packages();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .env("BROWSER", browser.name())
        .args(&args)
        .current_dir(clients_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} finishes in time"))
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}
