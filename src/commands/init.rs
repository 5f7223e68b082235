use crate::error::Result;
pub fn run(_yes: bool, _force: bool) -> Result<i32> { todo!() }
