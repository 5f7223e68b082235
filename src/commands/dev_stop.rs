use super::Context;
use crate::error::Result;
pub fn run(_ctx: &Context, _bots: &[String], _yes: bool, _dry: bool, _g: std::time::Duration) -> Result<i32> { todo!() }
