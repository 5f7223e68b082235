//! Which Fly app deploys each bot.

use super::bot::{App, FoundBot};
use super::fly_toml::FlyFile;
use super::walk::Project;

/// Ties each bot to the Fly app that deploys it: the fly.toml whose processes or Dockerfile
/// start it; else a package named like the app; else the only bot in the fly.toml's folder; a
/// root fly.toml to the project's only bot. Returns the apps tied to no bot.
pub fn assign(project: &Project, fly: &[FlyFile], bots: &mut [FoundBot]) -> Vec<(String, String)> {
    let mut used = vec![false; fly.len()];
    let app_of = |i: usize, why: String, group: Option<String>| {
        let f = &fly[i];
        App::Found {
            app: f.app.clone(),
            why,
            fly_toml: (f.path != project.root.join("fly.toml")).then(|| project.rel(&f.path)),
            group,
        }
    };
    for b in bots.iter_mut() {
        let mut apps: Vec<usize> = b.fly.iter().map(|(i, _)| *i).collect();
        apps.sort();
        apps.dedup();
        match apps.as_slice() {
            [one] => {
                let group = b.fly.iter().find_map(|(_, g)| g.clone());
                b.app = app_of(
                    *one,
                    format!("{} deploys it", project.shown(&fly[*one].path)),
                    group,
                );
                b.fly_from_launch = true;
                used[*one] = true;
            }
            [] => {}
            many => {
                b.app = App::Several(many.iter().map(|i| fly[*i].app.clone()).collect());
                for i in many {
                    used[*i] = true;
                }
            }
        }
    }
    let sure = bots.iter().filter(|b| b.doubt.is_none()).count();
    for (i, f) in fly.iter().enumerate() {
        if used[i] {
            continue;
        }
        let free: Vec<usize> = (0..bots.len())
            .filter(|&j| bots[j].app == App::None)
            .collect();
        let packaged: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&j| {
                bots[j]
                    .package
                    .as_deref()
                    .is_some_and(|p| same_name(p, &f.app))
            })
            .collect();
        let in_folder: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&j| bots[j].dir == f.dir)
            .collect();
        let shown = project.shown(&f.path);
        let chosen = match (packaged.as_slice(), in_folder.as_slice()) {
            ([one], _) => Some((
                *one,
                format!("its package is named like the app in {shown}"),
            )),
            ([], [one]) => Some((*one, format!("{shown} is in its folder"))),
            ([], [])
                if f.dir == project.root && sure == 1 && bots.len() == 1 && free.len() == 1 =>
            {
                Some((
                    free[0],
                    format!("{shown} is the project's and it is the only bot"),
                ))
            }
            _ => None,
        };
        if let Some((j, why)) = chosen {
            bots[j].app = app_of(i, why, None);
            used[i] = true;
        }
    }
    fly.iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(f, _)| (f.app.clone(), project.shown(&f.path)))
        .collect()
}

/// A package name and a Fly app name name the same thing: case and `_`/`-` aside (Python
/// normalises package names so; Fly app names are lower case with dashes).
pub fn same_name(package: &str, app: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
    norm(package) == norm(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_and_app_names() {
        assert!(same_name("shop-bot", "shop-bot"));
        assert!(same_name("LB_Partner", "lb-partner"));
        assert!(same_name("lb.partner", "lb-partner"));
        assert!(!same_name("shop", "shop-bot"));
    }
}
