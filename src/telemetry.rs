//! Logging set-up, and the metrics ([`metrics`]).

pub mod metrics;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` filters (default `info`); secrets are
/// never logged at info: request spans carry the path without its query string,
/// and tokens and passwords are never fields of any event.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: in a file or a log shipper they
    // are noise, and escape sequences in logs can be abused.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_target(false);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
    if result.is_ok() {
        install_panic_hook();
    }
}

/// Panics become one error event inside the current (request) span, so the log
/// line carries the request id; the client sees only a generic 500.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        tracing::error!(
            location = location.as_deref().unwrap_or("?"),
            "panic: {message}"
        );
    }));
}
