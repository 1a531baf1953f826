{#- Each sweep: what it varies (left out of the comparison group), how its
    swept value is shown, and which experiment is the core value of a group.
    Groups are every other hyperparameter, compared NULL-safely (a fingerprint
    that spells NULL), so unregularized experiments group together, and a
    momentum NULL everywhere (adam, or no command carrying one) never splits a
    group. The regularizer enters a group as (type, penalty of that type):
    exports write the unused penalty as 0 or NULL, which must not split a group.
    The optimizer sweep varies optimizer and momentum together: its swept value
    is the optimizer, with ` momentum <m>` when the momentum is above 0. -#}
{%- set group_candidates = butter_comparison_hyperparameters() -%}
{%- set penalty = "case experiments.kernel_regularizer_type"
    ~ " when 'l1' then experiments.kernel_regularizer_l1"
    ~ " when 'l2' then experiments.kernel_regularizer_l2 end" -%}
{%- set group_expressions = {
    'kernel_regularizer_l1': penalty,
    'kernel_regularizer_l2': none,
} -%}
{#- How a sweep is compared, by the parameter it sweeps (the sweeps and their
    swept parameters come from butter_swept_parameters(), generated from
    butter_warehouse/contract.py): what varies within a group, the swept value,
    and which experiment is the group's core value. -#}
{%- set comparisons = {
    'size': {'varies': ['size'],
        'value': 'experiments.size', 'core': 'false'},
    'epochs': {'varies': ['epochs'],
        'value': 'experiments.epochs', 'core': 'experiments.epochs = experiments.core_epochs'},
    'learning_rate': {'varies': ['learning_rate'],
        'value': 'experiments.learning_rate',
        'core': 'experiments.learning_rate = cast(sweeps.core_value as double)'},
    'label_noise': {'varies': ['label_noise'],
        'value': 'experiments.label_noise', 'core': 'experiments.label_noise = cast(sweeps.core_value as double)'},
    'batch_size': {'varies': ['batch_size'],
        'value': 'experiments.batch_size', 'core': 'experiments.batch_size = cast(sweeps.core_value as integer)'},
    'kernel_regularizer': {
        'varies': ['kernel_regularizer_type', 'kernel_regularizer_l1', 'kernel_regularizer_l2'],
        'value': 'coalesce(' ~ penalty ~ ', 0)',
        'label': "coalesce(experiments.kernel_regularizer_type || ' ' || " ~ butter_number_text('(' ~ penalty ~ ')') ~ ", 'none')",
        'core': 'experiments.kernel_regularizer_type is null'},
    'optimizer': {'varies': ['optimizer', 'momentum'],
        'value': 'experiments.optimizer', 'numeric': 'cast(null as double)',
        'label': "experiments.optimizer || case when experiments.momentum > 0 then ' momentum ' || "
            ~ butter_number_text('experiments.momentum') ~ " else '' end",
        'core': 'lower(experiments.optimizer) = lower(sweeps.core_value) and coalesce(experiments.momentum, 0) = 0'},
} -%}
{#- The text each group candidate enters a fingerprint with: the column, or
    its group expression (none: left out). -#}
{%- set group_texts = {} -%}
{%- for column in group_candidates -%}
    {%- if column not in group_expressions -%}
        {%- do group_texts.update({column: 'experiments.' ~ column}) -%}
    {%- elif group_expressions[column] is not none -%}
        {%- do group_texts.update({column: group_expressions[column]}) -%}
    {%- endif -%}
{%- endfor -%}
{%- set sweeps = [] -%}
{%- for swept in butter_swept_parameters() -%}
    {%- if swept.swept_parameter not in comparisons -%}
        {{- exceptions.raise_compiler_error("sweep_comparisons: no comparison rule for swept parameter '"
            ~ swept.swept_parameter ~ "' (sweep " ~ swept.sweep ~ "); add one to comparisons in "
            ~ "models/marts/sweep_comparisons.sql.") -}}
    {%- endif -%}
    {%- set spec = {'sweep': swept.sweep} -%}
    {%- do spec.update(comparisons[swept.swept_parameter]) -%}
    {%- do sweeps.append(spec) -%}
{%- endfor -%}

{#- A comparison group's fingerprint: the sweep, then each candidate's text
    unless the sweep varies that parameter. -#}
{%- set group_parts = ['sweeps.sweep'] -%}
{%- for column in group_texts -%}
    {%- set varied = [] -%}
    {%- for spec in sweeps if column in spec.varies -%}
        {%- do varied.append("'" ~ spec.sweep ~ "'") -%}
    {%- endfor -%}
    {%- if varied -%}
        {%- do group_parts.append('case when sweeps.sweep not in (' ~ varied | join(', ') ~ ') then '
            ~ column ~ '_group_text end') -%}
    {%- else -%}
        {%- do group_parts.append(column ~ '_group_text') -%}
    {%- endif -%}
{%- endfor -%}
{%- set quoted_sweeps = [] -%}
{%- for spec in sweeps -%}
    {%- do quoted_sweeps.append("'" ~ spec.sweep ~ "'") -%}
{%- endfor -%}

with

experiment_summary as (
    select * from {{ ref('experiment_summary') }}
),

sweeps as (
    select
        sweep,
        swept_parameter,
        core_value
    from {{ ref('butter_sweeps') }}
),

{# The standard training length (3000 epochs in the published data): the
    epochs of the primary sweep, so the epoch sweeps compare against it. -#}
core_epochs as (
    select epochs
    from experiment_summary
    where is_primary_sweep
    group by epochs
    order by count(*) desc, epochs asc
    limit 1
),

experiments as (
    select
        experiment_summary.*,
        core_epochs.epochs as core_epochs
    from experiment_summary
    left join core_epochs
        on true
),

{# Each compared hyperparameter's text for a fingerprint, once per
    experiment (a group leaves out the parameters its sweep varies). -#}
experiment_texts as (
    select
        {%- for column in group_texts %}
            {{ butter_fingerprint_text(group_texts[column]) }} as {{ column }}_group_text,
        {%- endfor %}
        experiments.*
    from experiments
),

{# Every experiment once per sweep (one pass, not one branch per sweep):
    its swept value, whether it is the core value and a member, and its
    group, the fingerprint of the sweep and of every parameter the sweep
    does not vary (group_parts; concat_ws leaves a NULL text out). -#}
candidates as (
    select
        sweeps.sweep,
        sweeps.swept_parameter,
        case sweeps.sweep
            {%- for spec in sweeps %}
                when '{{ spec.sweep }}' then {{ spec.get('label', butter_number_text(spec.value)) }}
            {%- endfor %}
        end as swept_value,
        case sweeps.sweep
            {%- for spec in sweeps %}
                when '{{ spec.sweep }}' then {{ spec.get('numeric', 'cast(' ~ spec.value ~ ' as double)') }}
            {%- endfor %}
        end as swept_value_numeric,
        coalesce(case sweeps.sweep
            {%- for spec in sweeps %}
                when '{{ spec.sweep }}' then {{ spec.core }}
            {%- endfor %}
        end, false) as is_core_value,
        coalesce(case sweeps.sweep
            {%- for spec in sweeps %}
                when '{{ spec.sweep }}' then experiments.is_{{ spec.sweep }}_sweep
            {%- endfor %}
        end, false) as is_sweep_member,
        {{ butter_fingerprint_of_texts(group_parts) }} as comparison_group_id,
        experiments.experiment_id,
        {%- for column in group_candidates %}
            experiments.{{ column }},
        {%- endfor %}
        experiments.task_type,
        experiments.median_curve_best_test_loss
    from experiment_texts as experiments
    inner join sweeps
        on sweeps.sweep in ({{ quoted_sweeps | join(', ') }})
),

member_groups as (
    select distinct
        sweep,
        comparison_group_id
    from candidates
    where is_sweep_member
),

{# A sweep's rows: its flagged experiments, plus the core-value experiment of
    each of their groups where that experiment is not flagged in the sweep
    (e.g. the 3000-epoch experiment an epoch sweep is compared against). -#}
compared as (
    select candidates.*
    from candidates
    inner join member_groups
        on
            candidates.sweep = member_groups.sweep
            and candidates.comparison_group_id = member_groups.comparison_group_id
    where candidates.is_sweep_member or candidates.is_core_value
),

{# A group is complete when it holds, with a median_curve_best_test_loss,
    every swept value its sweep has anywhere: comparisons across swept values
    over complete groups only are over the same groups for every value. -#}
sweep_values as (
    select
        sweep,
        count(distinct swept_value) as num_sweep_values
    from compared
    group by sweep
),

group_values as (
    select
        sweep,
        comparison_group_id,
        count(distinct case when median_curve_best_test_loss is not null then swept_value end)
            as num_values_with_loss
    from compared
    group by sweep, comparison_group_id
),

completed as (
    select
        compared.*,
        group_values.num_values_with_loss = sweep_values.num_sweep_values as group_is_complete
    from compared
    inner join sweep_values
        on compared.sweep = sweep_values.sweep
    inner join group_values
        on
            compared.sweep = group_values.sweep
            and compared.comparison_group_id = group_values.comparison_group_id
),

ranked as (
    select
        *,
        count(*) over (partition by sweep, comparison_group_id) as group_size,
        rank() over (
            partition by sweep, comparison_group_id
            order by median_curve_best_test_loss asc nulls last
        ) as rank_in_group,
        count(case when is_core_value then 1 end) over (partition by sweep, comparison_group_id)
            as num_core_experiments,
        max(case when is_core_value then median_curve_best_test_loss end)
            over (partition by sweep, comparison_group_id)
            as core_median_curve_best_test_loss
    from completed
),

final as (
    select
        sweep,
        experiment_id,
        swept_parameter,
        swept_value,
        swept_value_numeric,
        is_core_value,
        is_sweep_member,
        comparison_group_id,
        group_size,
        num_core_experiments > 0 as group_has_core_value,
        {%- for column in group_candidates %}
            {{ column }},
        {%- endfor %}
        task_type,
        median_curve_best_test_loss,
        cast(rank_in_group as integer) as rank_in_group,
        median_curve_best_test_loss - core_median_curve_best_test_loss as delta_vs_core,
        group_is_complete
    from ranked
)

select * from final
