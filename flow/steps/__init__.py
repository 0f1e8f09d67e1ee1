"""The build steps, one per module, registered in build order with `flow.build.step`."""
