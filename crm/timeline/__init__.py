"""An enterprise's timeline: what happened with the firm across visits, needs, matching and
cooperation, in one list (a read model over four areas)."""
