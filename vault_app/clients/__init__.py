"""Clients for vendor APIs: all traffic to a vendor goes through its module here.

``auth0``: the Management API (tokens shared by every worker, retries, Auth0's errors).
"""
