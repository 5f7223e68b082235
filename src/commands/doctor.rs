use super::Context;
use crate::error::Result;
pub fn run(_ctx: &Context, _bots: &[String], _probe: bool, _json: bool) -> Result<i32> { todo!() }
