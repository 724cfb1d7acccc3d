//! Readings from the station: the live trace, the step's figures, the alarm.

use super::*;

pub(super) fn station(state: &mut State, update: StationUpdate) -> Vec<Effect> {
    match update {
        StationUpdate::Status {
            connected,
            text,
            bad_frames,
        } => {
            state.station.connected = connected;
            state.station.status = text;
            state.station.bad_frames = bad_frames;
            Vec::new()
        }
        StationUpdate::Sample {
            channel,
            time,
            celsius,
        } => {
            state
                .station
                .latest
                .insert(channel.clone(), (time, celsius));
            let Screen::Runner(r) = &mut state.screen else {
                return Vec::new();
            };
            // Only a running step records: a held or suspended job is not being worked.
            if r.job.status != JobStatus::InProgress || r.saving {
                return Vec::new();
            }
            let sample = Sample {
                channel: channel.clone(),
                time,
                celsius,
            };
            let signal = r.thermal.push(&sample);
            r.pending.push((channel.clone(), time, celsius));
            let mut fx = Vec::new();
            if r.pending.len() >= SAMPLE_BATCH {
                fx.push(Effect::StoreSamples {
                    job: r.job.id.clone(),
                    step: r.step,
                    samples: std::mem::take(&mut r.pending),
                });
            }
            if r.window.as_ref().is_some_and(|w| w.channel == channel) {
                push_trace(&mut r.trace, time, celsius);
            }
            let job = r.job.id.clone();
            let step = r.step;
            let actor = r.job.performer.clone();
            match signal {
                Some(ThermalSignal::ExcursionStarted {
                    channel,
                    time,
                    celsius,
                    window,
                }) => {
                    let id = r.job.excursions.iter().filter(|e| e.step == step).count() as u32 + 1;
                    let alarm = Alarm {
                        id,
                        channel,
                        window: (window.min_c, window.max_c),
                        peak: celsius,
                        started: time,
                        ended: None,
                    };
                    fx.push(excursion_effect(actor, &job, step, &alarm));
                    r.alarm = Some(alarm);
                    fx.push(Effect::Bell);
                }
                Some(ThermalSignal::ExcursionEnded(e)) => {
                    if let Some(mut alarm) = r.alarm.take() {
                        alarm.peak = e.peak_c;
                        alarm.ended = e.end;
                        fx.push(excursion_effect(actor, &job, step, &alarm));
                    }
                }
                None => {
                    // Keep the alarm's peak current while it lasts.
                    if let Some(a) = &mut r.alarm
                        && a.channel == channel
                    {
                        let beyond = |v: f64| (v - a.window.1).max(a.window.0 - v);
                        if beyond(celsius) > beyond(a.peak) {
                            a.peak = celsius;
                        }
                    }
                }
            }
            fx
        }
    }
}

pub(super) fn excursion_effect(actor: String, job: &str, step: u32, a: &Alarm) -> Effect {
    Effect::Append {
        actor,
        job: job.to_string(),
        events: vec![Event::Excursion {
            job: job.to_string(),
            step,
            id: a.id,
            channel: a.channel.clone(),
            window_min_c: a.window.0,
            window_max_c: a.window.1,
            peak_c: a.peak,
            started: a.started,
            ended: a.ended,
        }],
    }
}

pub(super) fn push_trace(trace: &mut Trace, time: DateTime<Utc>, celsius: f64) {
    let start = *trace.start.get_or_insert(time);
    let t = (time - start).num_milliseconds() as f64 / 1000.0;
    trace.points.push((t, celsius));
    if trace.points.len() > TRACE_POINTS {
        // Keep every other point of the older half: the chart keeps its shape.
        let half = trace.points.len() / 2;
        let mut thinned: Vec<(f64, f64)> =
            trace.points[..half].iter().step_by(2).copied().collect();
        thinned.extend_from_slice(&trace.points[half..]);
        trace.points = thinned;
    }
}
