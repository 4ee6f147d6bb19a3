"""The data-modeling target: Core Data Model instances instead of classic assets, events and time series."""
