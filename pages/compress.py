"""Compress: placeholder until its issue lands."""
import streamlit as st

st.title("Compress")
st.caption("Make the model smaller and faster.")
st.info("This page is being built.")
