//! This machine: a supervisor that brings a killed copy back, and the container engine.

use super::{Evidence, Findings};
use crate::config::Bot;
use crate::survey::finding::{Check, Finding, Level};
use crate::ui;

/// A supervised local copy comes back when killed: where the bot runs elsewhere too, the
/// supervisor is part of the cause and its stop command part of the fix.
pub(super) fn check_supervisors(bot: &Bot, ev: &Evidence, f: &mut Findings) {
    let places = ev.survey.places(bot);
    let elsewhere = places.count() >= 2;
    for i in &places.local {
        let Some(s) = &i.supervisor else { continue };
        let kept = format!(
            "local pid {} of {} is kept alive by {}",
            i.pid,
            bot.name,
            ui::describe::supervisor(s)
        );
        if elsewhere {
            f.push(
                Finding::error(
                    Some(bot),
                    Check::Supervisor,
                    format!(
                        "{kept} ({}): killing it is useless, it comes back, and it \
polls while {} runs in {} places",
                        s.kind,
                        bot.name,
                        places.count()
                    ),
                )
                .fix(s.stop()),
            );
        } else {
            f.push(Finding::ok(
                Some(bot),
                Check::Supervisor,
                format!("{kept} ({}); stop it with: {}", s.kind, s.stop()),
            ));
        }
    }
}

/// The container engine: whether it was asked. Its bots' containers are instances, so the
/// places and supervisor checks name them.
pub(super) fn check_containers(ev: &Evidence, f: &mut Findings) {
    use crate::sources::containers::EngineState;
    let engine = &ev.survey.engine;
    let Some(program) = engine.engine().map(|e| e.program()) else {
        return; // neither docker nor podman: no container can run
    };
    let (level, message) = match engine {
        // A check that could not run is not checked, never ✓.
        EngineState::Down(_) => (
            Level::Warn,
            format!(
                "containers not checked: {}",
                engine.not_checked().unwrap_or_default()
            ),
        ),
        EngineState::Failed(_, why) => (Level::Warn, format!("containers not checked: {why}")),
        _ => {
            let bots = ev
                .survey
                .local
                .iter()
                .flatten()
                .filter(|i| i.container.is_some())
                .count();
            if bots == 0 {
                return; // nothing to say: no container runs a bot
            }
            (
                Level::Ok,
                format!(
                    "{program} answers: {} running container(s), {bots} of them run a bot",
                    engine.containers().len()
                ),
            )
        }
    };
    f.push(Finding::new(level, None, Check::Container, message));
}
