//! Test support: a scripted token endpoint and resource server, peers.
