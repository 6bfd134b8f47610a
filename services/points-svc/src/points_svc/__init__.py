"""points-svc: the party-member points ledger, monthly public notices, star ratings and appraisals."""
