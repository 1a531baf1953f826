{#- Generic SQL text helpers, the same on every engine. -#}


{#- A text as a SQL string literal (quotes doubled): paths may hold apostrophes. -#}
{% macro butter_sql_string(text) -%}
    {{- return("'" ~ (text | string | replace("'", "''")) ~ "'") -}}
{%- endmacro %}
