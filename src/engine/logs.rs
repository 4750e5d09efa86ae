//! Reading a container's log: the last lines (shown when a service fails) or a stream of
//! chunks (`devenv logs`, followed or not).

use super::{Engine, api_error};
use crate::diagnostic::Diagnostic;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::{Stream, StreamExt};

impl Engine {
    /// The last `lines` lines of a container's log.
    pub async fn log_tail(&self, container: &str, lines: usize) -> String {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(container, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    }

    /// A container's log as a stream of chunks.
    pub fn log_stream(
        &self,
        container: &str,
        follow: bool,
        tail: Option<u64>,
    ) -> impl Stream<Item = Result<String, Diagnostic>> + use<> {
        let tail = tail.map_or_else(|| "all".to_string(), |t| t.to_string());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        let name = container.to_string();
        self.docker.logs(container, Some(options)).map(move |item| {
            item.map(|c| c.to_string())
                .map_err(|e| api_error(&format!("reading logs of {name}"), &e))
        })
    }
}
