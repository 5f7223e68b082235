#!/usr/bin/env node
// botctl's npm launcher. npm installs, through optionalDependencies, only the package whose
// os, cpu and libc fit this machine (botctl-linux-x64, …); this finds its binary and runs it,
// passing arguments, stdio, the exit code and a signal that ended it through.
"use strict";

const { spawnSync } = require("child_process");
const os = require("os");

const PACKAGES = {
  "linux-x64": "botctl-linux-x64",
  "linux-arm64": "botctl-linux-arm64",
  "darwin-x64": "botctl-darwin-x64",
  "darwin-arm64": "botctl-darwin-arm64",
};

function fail(message) {
  process.stderr.write(`botctl: ${message}\n`);
  process.exit(1);
}

// Only asked when no package fits: the report is slow to make.
function isMusl() {
  try {
    return process.platform === "linux" && !process.report.getReport().header.glibcVersionRuntime;
  } catch (e) {
    return false;
  }
}

function binary() {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[platform];
  const others = "Other ways in: pipx install botctl, or cargo install (see botctl's README).";
  if (!pkg) {
    fail(
      `no botctl binary for ${platform}: the npm packages are for ` +
        `${Object.keys(PACKAGES).join(", ")}. ${others}`,
    );
  }
  try {
    return require.resolve(`${pkg}/bin/botctl`);
  } catch (e) {
    if (isMusl()) {
      fail(
        `no botctl binary for ${platform} with musl libc (Alpine): ${pkg} is built for glibc. ` +
          others,
      );
    }
    fail(
      `${pkg}, the package with the botctl binary for ${platform}, is not installed. npm ` +
        `installs it with botctl unless optional dependencies are left out ` +
        `(--omit=optional, --no-optional): install botctl again without that.`,
    );
  }
}

const program = binary();
// A Ctrl-C reaches botctl too (same process group): wait for it to finish and answer as it did,
// rather than leave it running behind the prompt.
for (const signal of ["SIGINT", "SIGQUIT"]) {
  process.on(signal, () => {});
}
const result = spawnSync(program, process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  fail(`cannot run ${program}: ${result.error.message}`);
}
if (result.signal) {
  // End the same way, so a shell or supervisor sees the signal, not an exit code.
  process.removeAllListeners(result.signal);
  process.kill(process.pid, result.signal);
  process.exit(128 + (os.constants.signals[result.signal] || 0));
}
process.exit(result.status);
