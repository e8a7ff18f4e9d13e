"""Deep TLS scan: protocols, ciphers, groups, behaviours and known flaws, probe by probe."""
