//! Readings from the station: the live view, and the recording of the open step,
//! whatever screen is shown and whoever is logged in.

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
            record(state, channel, time, celsius)
        }
    }
}

fn record(state: &mut State, channel: String, time: DateTime<Utc>, celsius: f64) -> Vec<Effect> {
    let Some(r) = &mut state.recorder else {
        return Vec::new();
    };
    let sample = Sample {
        channel: channel.clone(),
        time,
        celsius,
    };
    let signal = r.thermal.push(&sample);
    r.pending.push((channel.clone(), time, celsius));
    let mut fx = Vec::new();
    if r.pending.len() >= SAMPLE_BATCH && r.sealing.is_none() {
        fx.push(Effect::StoreSamples {
            job: r.job.clone(),
            step: r.step,
            attempt: r.attempt,
            samples: std::mem::take(&mut r.pending),
        });
    }
    if r.window.as_ref().is_some_and(|w| w.channel == channel) {
        push_trace(&mut r.trace, time, celsius);
    }
    let mut observed = None;
    match signal {
        Some(ThermalSignal::ExcursionStarted {
            channel,
            time,
            celsius,
            window,
        }) => {
            let alarm = Alarm {
                id: r.next_alarm,
                channel,
                window: (window.min_c, window.max_c),
                peak: celsius,
                started: time,
                ended: None,
            };
            r.next_alarm += 1;
            observed = Some(excursion_command(r, &alarm));
            r.alarm = Some(alarm);
            fx.push(Effect::Bell);
        }
        Some(ThermalSignal::ExcursionEnded(e)) => {
            if let Some(mut alarm) = r.alarm.take() {
                alarm.peak = e.peak_c;
                alarm.ended = e.end;
                observed = Some(excursion_command(r, &alarm));
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
    if let Some(c) = observed {
        // The station observed it: recorded as the program's, not a person's.
        let id = state.ask(Ask::Command("alarm"));
        fx.push(Effect::Command(Box::new(Request {
            id,
            by: SYSTEM_ACTOR.to_string(),
            credentials: None,
            command: c,
        })));
    }
    fx
}

fn excursion_command(r: &Recorder, a: &Alarm) -> Command {
    Command::RecordExcursion {
        job: r.job.clone(),
        step: r.step,
        id: a.id,
        channel: a.channel.clone(),
        window: a.window,
        peak_c: a.peak,
        started: a.started,
        ended: a.ended,
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
