use super::Context;
use crate::error::Result;
pub fn run(_ctx: &Context, _bots: &[String], _yes: bool, _dry: bool) -> Result<i32> { todo!() }
