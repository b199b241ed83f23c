//! Which gRPC methods this server serves, read from the schemas of its services
//! (ours, health, reflection), so that a call's path becomes metric labels only
//! when it names one of them: the labels stay a fixed, small set whatever a
//! client sends.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use prost::Message as _;
use prost_types::FileDescriptorSet;

/// The labels of a call to a path that is not a served method.
const UNKNOWN: &str = "unknown";

/// A call's labels: the service's full name and the method's.
#[derive(Debug, PartialEq, Eq)]
pub struct Method {
    pub service: String,
    pub name: String,
}

pub struct ServedMethods {
    /// By request path, `/auth.v1.AuthService/Login`.
    by_path: HashMap<String, Arc<Method>>,
    unknown: Arc<Method>,
}

impl ServedMethods {
    /// Every method of every service in the encoded descriptor sets (files
    /// without services, such as imported message types, add none).
    pub fn from_descriptor_sets(sets: &[&[u8]]) -> anyhow::Result<Self> {
        let mut by_path = HashMap::new();
        for encoded in sets {
            let set = FileDescriptorSet::decode(*encoded).context("a gRPC descriptor set")?;
            for file in set.file {
                for service in &file.service {
                    let full = match file.package() {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    for method in &service.method {
                        let path = format!("/{full}/{}", method.name());
                        let method = Method {
                            service: full.clone(),
                            name: method.name().to_owned(),
                        };
                        by_path.insert(path, Arc::new(method));
                    }
                }
            }
        }
        let unknown = Arc::new(Method {
            service: UNKNOWN.to_owned(),
            name: UNKNOWN.to_owned(),
        });
        Ok(Self { by_path, unknown })
    }

    /// The method a request `path` calls, or `unknown`/`unknown` (never the
    /// path itself).
    pub fn of(&self, path: &str) -> Arc<Method> {
        self.by_path.get(path).unwrap_or(&self.unknown).clone()
    }

    /// Every served method, as (service, method).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_path
            .values()
            .map(|m| (m.service.as_str(), m.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_path_is_its_service_and_method_and_any_other_is_unknown() {
        let served = ServedMethods::from_descriptor_sets(&[
            crate::grpc::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ])
        .expect("the schemas decode");
        let login = served.of("/auth.v1.AuthService/Login");
        assert_eq!(
            (login.service.as_str(), login.name.as_str()),
            ("auth.v1.AuthService", "Login")
        );
        let check = served.of("/grpc.health.v1.Health/Check");
        assert_eq!(check.service, "grpc.health.v1.Health");
        for path in ["/auth.v1.AuthService/Nope", "/auth.v1.AuthService", "/", ""] {
            let unknown = served.of(path);
            assert_eq!(
                (unknown.service.as_str(), unknown.name.as_str()),
                ("unknown", "unknown")
            );
        }
    }
}
