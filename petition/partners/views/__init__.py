"""The partners' blueprints: api, badge, embed."""
