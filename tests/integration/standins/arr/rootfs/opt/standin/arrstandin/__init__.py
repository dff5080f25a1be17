"""Stateful stand-ins of the Sonarr 4, Radarr 6, Prowlarr 2 and Bazarr APIs (stdlib only)."""
