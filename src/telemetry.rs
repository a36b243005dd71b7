//! Log output: `RUST_LOG` filter (default `info`), human or JSON lines on stderr.
//! The template engine is held at `warn` whatever the filter says: at debug level
//! it would log notice content (personal data).

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// A directive holding `target` at `warn`.
fn quiet(target: &str) -> tracing_subscriber::filter::Directive {
    match format!("{target}=warn").parse() {
        Ok(directive) => directive,
        Err(_) => tracing_subscriber::filter::LevelFilter::WARN.into(),
    }
}

/// Installs the global subscriber once; later calls are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive(quiet("handlebars"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
