"""pykka actors: each owns one part of the write side (proxies, rotation, health, tabs,
privacy profiles, rank tracking, schedules, the audit chain) and saves its events through
the shared writer."""
