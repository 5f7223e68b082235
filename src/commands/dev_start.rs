use super::Context;
use crate::error::Result;
pub struct Options { pub yes: bool, pub dry_run: bool, pub no_run: bool, pub no_probe: bool }
pub fn run(_ctx: &Context, _bot: &str, _o: Options) -> Result<i32> { todo!() }
