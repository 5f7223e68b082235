//! botctl's integration tests, one binary: the real botctl in temp folders, against real
//! processes and the fakes in tests/fakes/. The shared harness is the `test-support` crate
//! (its docs say which tests take the process-table lock, and why tests look only at their own
//! processes). Needs Linux (/proc) and `cargo xtask setup` once.

mod completions;
mod config;
mod doctor;
mod doctor_speed;
mod hardening;
mod hostile;
mod hosts;
mod onboarding;
mod platform;
mod runtimes;
mod shared_token;
mod status;
mod supervisors;
mod tidy;
mod workflows;
