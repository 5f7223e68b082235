//! Where a bot can be running. Each source answers one question and knows nothing of the
//! commands that ask it.

pub mod argv;
pub mod autostart;
pub mod containers;
pub mod fly;
pub mod host;
pub mod local;
pub mod proc;
pub mod supervisor;
pub mod telegram;
pub mod webhook;
