"""pykka actors, the command dispatcher and the runtime (composition root)."""
