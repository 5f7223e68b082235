//! botctl's integration tests, one binary: the real botctl in temp folders, against real
//! processes and the fakes in tests/fakes/. The shared harness is the `test-support` crate
//! (its docs say which tests take the process-table lock, and why tests look only at their own
//! processes). Needs `cargo xtask setup` once. Runs on Linux and macOS; the Linux-only parts
//! are behind `cfg(target_os = "linux")`: the host tests (a real sshd in a PID namespace,
//! busybox sh), the tests that run a process as another user (setpriv), and those that bind a
//! file over /proc or move a process into a cgroup (tests/it/platform.rs).

mod cleanup;
mod completions;
mod config;
mod contract;
mod deploy;
mod docs_examples;
mod doctor;
mod doctor_speed;
mod doctor_time;
mod exec;
mod exits;
mod files;
mod fly_shapes;
mod heroku;
#[cfg(target_os = "linux")]
mod hosts;
mod identity;
mod init_fly_app;
mod init_shapes;
mod kubernetes;
mod onboarding;
mod other_platforms;
#[cfg(target_os = "linux")]
mod other_users;
mod outside;
mod platform;
mod railway;
mod runtimes;
mod secrets;
mod shared_token;
mod snapshots;
mod status;
mod supervisors;
mod team;
mod tidy;
mod watch;
mod webhook;
mod workflows;
