//! Connects the station reader to the screen: its events become `StationUpdate`s.

use tokio::sync::{mpsc, watch};

use crate::cli::station::describe;
use crate::domain::thermal::Window;
use crate::station::{self, StationConfig, StationEvent, StationStatus};
use crate::tui::action::StationUpdate;

/// Starts the reader and a task that translates its events; the reader lives as
/// long as that task. A configuration the reader refuses shows as a status line.
pub fn start(
    config: &StationConfig,
    target: watch::Receiver<Option<Window>>,
) -> mpsc::Receiver<StationUpdate> {
    let (tx, rx) = mpsc::channel(1024);
    match station::spawn(config.clone(), target) {
        Ok((mut events, handle)) => {
            tokio::spawn(async move {
                let _reader = handle;
                let mut connected = false;
                let mut bad_frames = 0;
                let mut text = String::from("connecting");
                while let Some(event) = events.recv().await {
                    let update = match event {
                        StationEvent::Sample(s) => StationUpdate::Sample {
                            channel: s.channel,
                            time: s.time,
                            celsius: s.celsius,
                        },
                        StationEvent::Status(status) => {
                            match &status {
                                StationStatus::Connected { .. } | StationStatus::Receiving => {
                                    connected = true
                                }
                                StationStatus::Disconnected { .. }
                                | StationStatus::Stale { .. } => connected = false,
                                StationStatus::BadFrames(stats) => bad_frames = stats.bad(),
                            }
                            if !matches!(status, StationStatus::BadFrames(_)) {
                                text = describe(&status);
                            }
                            StationUpdate::Status {
                                connected,
                                text: text.clone(),
                                bad_frames,
                            }
                        }
                    };
                    if tx.send(update).await.is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => {
            let _ = tx.try_send(StationUpdate::Status {
                connected: false,
                text: format!("station not started: {e}"),
                bad_frames: 0,
            });
        }
    }
    rx
}
