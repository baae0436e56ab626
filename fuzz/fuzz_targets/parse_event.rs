//! Fuzzes event parsing: arbitrary bytes must give a trigger or a clear error, never a panic.
#![no_main]

use ecs_inbound_guard::domain::alert::alert_for;
use ecs_inbound_guard::domain::evaluation::Evaluation;
use ecs_inbound_guard::domain::event::{parse_trigger_bytes, Trigger};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_trigger_bytes(data) {
        Ok(Trigger::RunningTask(event)) => {
            let _ = event.task.eni_attachment();
            let _ = event.task.launch_type();
            let evaluation = Evaluation::task_not_applicable(&event, "fuzz");
            assert!(evaluation.annotation.chars().count() <= 256);
            let _ = alert_for(&evaluation);
        }
        Ok(Trigger::OutOfScope(o)) => assert!(!o.resource_id.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
